-- Booleans are TINYINT(1); datetimes are DATETIME (second precision, server-local time).
CREATE TABLE users (
  user_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  system_id VARCHAR(50) NOT NULL, username VARCHAR(50),
  person_id INT NOT NULL,                          -- 1.6+ (before: user_id = person_id)
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE person (
  person_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  gender VARCHAR(50), birthdate DATE, birthdate_estimated TINYINT(1) NOT NULL DEFAULT 0,
  birthtime TIME,                                  -- 1.10+
  dead TINYINT(1) NOT NULL DEFAULT 0, death_date DATETIME,
  deathdate_estimated TINYINT(1) NOT NULL DEFAULT 0, -- 1.11+
  cause_of_death INT,                              -- concept_id
  cause_of_death_non_coded VARCHAR(255),           -- 2.2+
  creator INT, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE patient (
  patient_id INT NOT NULL PRIMARY KEY,             -- = person.person_id
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  allergy_status VARCHAR(50) NOT NULL DEFAULT 'Unknown'  -- 2.0+
  -- ≤1.10: tribe INT
);
CREATE TABLE person_name (
  person_name_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  preferred TINYINT(1) NOT NULL DEFAULT 0, person_id INT NOT NULL,
  prefix VARCHAR(50), given_name VARCHAR(50), middle_name VARCHAR(50), family_name_prefix VARCHAR(50),
  family_name VARCHAR(50), family_name2 VARCHAR(50), family_name_suffix VARCHAR(50), degree VARCHAR(50),
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  changed_by INT, date_changed DATETIME, uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE person_address (
  person_address_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, person_id INT,
  preferred TINYINT(1) NOT NULL DEFAULT 0,
  address1 VARCHAR(255), address2 VARCHAR(255), city_village VARCHAR(255), state_province VARCHAR(255),
  postal_code VARCHAR(50), country VARCHAR(50), latitude VARCHAR(50), longitude VARCHAR(50),
  county_district VARCHAR(255), address3 VARCHAR(255), address4 VARCHAR(255), address5 VARCHAR(255), address6 VARCHAR(255),
  -- 1.x: address1/2, city, state VARCHAR(50); address7..15 VARCHAR(255) are 2.0+
  start_date DATETIME, end_date DATETIME,          -- 1.9+
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  changed_by INT, date_changed DATETIME,           -- 1.9+
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE patient_identifier_type (
  patient_identifier_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(50) NOT NULL, description TEXT, format VARCHAR(255), check_digit TINYINT(1) NOT NULL DEFAULT 0,
  required TINYINT(1) NOT NULL DEFAULT 0, format_description VARCHAR(255), validator VARCHAR(200),
  location_behavior VARCHAR(50),                   -- 1.9+  REQUIRED | NOT_USED
  uniqueness_behavior VARCHAR(50),                 -- 1.11+ UNIQUE | NON_UNIQUE | LOCATION
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 2.1+
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE patient_identifier (
  patient_identifier_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  patient_id INT NOT NULL, identifier VARCHAR(50) NOT NULL, identifier_type INT NOT NULL,  -- FK patient_identifier_type
  preferred TINYINT(1) NOT NULL DEFAULT 0,
  location_id INT,                                 -- NOT NULL before 1.9
  patient_program_id INT,                          -- 2.6+
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 1.9+
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE location (
  location_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(255),
  address1 VARCHAR(255), address2 VARCHAR(255), city_village VARCHAR(255), state_province VARCHAR(255),
  postal_code VARCHAR(50), country VARCHAR(50), latitude VARCHAR(50), longitude VARCHAR(50),
  county_district VARCHAR(255), address3 VARCHAR(255), address4 VARCHAR(255), address5 VARCHAR(255), address6 VARCHAR(255),
  parent_location INT,                             -- FK location.location_id (1.5+)
  location_type_concept_id INT,                    -- 2.5+
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 1.9+
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE location_tag (
  location_tag_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, description VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE location_tag_map (location_id INT NOT NULL, location_tag_id INT NOT NULL,
  PRIMARY KEY (location_id, location_tag_id));
CREATE TABLE concept_datatype (
  concept_datatype_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL,
  hl7_abbreviation VARCHAR(3), description VARCHAR(255), creator INT NOT NULL, date_created DATETIME NOT NULL,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_class (
  concept_class_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 2.1+
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept (
  concept_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, retired TINYINT(1) NOT NULL DEFAULT 0,
  short_name VARCHAR(255), description TEXT, form_text TEXT,   -- legacy, usually empty
  datatype_id INT NOT NULL, class_id INT NOT NULL, is_set TINYINT(1) NOT NULL DEFAULT 0,
  creator INT NOT NULL, date_created DATETIME NOT NULL, version VARCHAR(50), changed_by INT, date_changed DATETIME,
  retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255), uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_name (
  concept_name_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, concept_id INT,
  name VARCHAR(255) NOT NULL, locale VARCHAR(50) NOT NULL,
  locale_preferred TINYINT(1) DEFAULT 0,           -- 1.7+
  concept_name_type VARCHAR(50),                   -- 1.7+  FULLY_SPECIFIED | SHORT | INDEX_TERM | NULL(synonym)
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  changed_by INT, date_changed DATETIME,           -- 2.1+
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_numeric (
  concept_id INT NOT NULL PRIMARY KEY, hi_absolute DOUBLE, hi_critical DOUBLE, hi_normal DOUBLE,
  low_absolute DOUBLE, low_critical DOUBLE, low_normal DOUBLE, units VARCHAR(50),
  allow_decimal TINYINT(1),                        -- named `precise` before 1.11
  display_precision INT);                          -- 1.11+
CREATE TABLE concept_reference_source (           -- named `concept_source` before 1.9
  concept_source_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, description TEXT NOT NULL,
  hl7_code VARCHAR(50), unique_id VARCHAR(250),    -- unique_id 2.x
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 2.1+
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_reference_term (              -- 1.9+
  concept_reference_term_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, concept_source_id INT NOT NULL,
  name VARCHAR(255), code VARCHAR(255) NOT NULL, version VARCHAR(255), description VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, date_changed DATETIME, changed_by INT,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_map_type (                    -- 1.9+  SAME-AS uuid 35543629-7d8c-11e1-909d-c80aa9edcf4e
  concept_map_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  is_hidden TINYINT(1) NOT NULL DEFAULT 0,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE concept_reference_map (               -- named `concept_map` before 1.9
  concept_map_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  concept_reference_term_id INT NOT NULL, concept_map_type_id INT NOT NULL,  -- 1.9+ (≤1.8: source INT, source_code VARCHAR(255), comment VARCHAR(255))
  creator INT NOT NULL, date_created DATETIME NOT NULL, concept_id INT NOT NULL,
  changed_by INT, date_changed DATETIME, uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE provider (                            -- 1.9+
  provider_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, person_id INT, name VARCHAR(255), identifier VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE encounter_type (
  encounter_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, description TEXT,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,  -- changed_* 2.0+
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE visit_type (                          -- 1.9+
  visit_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(1024),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE visit (                               -- 1.9+
  visit_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, patient_id INT NOT NULL, visit_type_id INT NOT NULL,
  date_started DATETIME NOT NULL, date_stopped DATETIME, indication_concept_id INT, location_id INT,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE encounter (
  encounter_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, encounter_type INT NOT NULL, patient_id INT NOT NULL,
  -- ≤1.8: provider_id INT NOT NULL (person_id since 1.6); dropped in 1.9
  location_id INT, form_id INT, encounter_datetime DATETIME NOT NULL,
  visit_id INT,                                    -- 1.9+
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  changed_by INT, date_changed DATETIME,           -- 1.6+
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE encounter_role (                      -- 1.9+  "Unknown" role uuid a0b03050-c99b-11e0-9572-0800200c9a66
  encounter_role_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description VARCHAR(1024),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE encounter_provider (                  -- 1.9+
  encounter_provider_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, encounter_id INT NOT NULL,
  provider_id INT NOT NULL, encounter_role_id INT NOT NULL,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, date_voided DATETIME, voided_by INT, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE obs (
  obs_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  person_id INT NOT NULL, concept_id INT NOT NULL DEFAULT 0, encounter_id INT, order_id INT,
  obs_datetime DATETIME NOT NULL, location_id INT, obs_group_id INT, accession_number VARCHAR(255),
  value_group_id INT,
  value_boolean TINYINT(1),                        -- ≤1.12 only (dropped in 2.0 if empty)
  value_coded INT, value_coded_name_id INT, value_drug INT, value_datetime DATETIME, value_numeric DOUBLE,
  value_modifier VARCHAR(2), value_text TEXT,
  value_complex VARCHAR(1000),                     -- VARCHAR(255) in 1.x
  comments VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE,
  previous_version INT,                            -- 1.9+  FK obs.obs_id (row this one replaced)
  form_namespace_and_path VARCHAR(255),            -- 1.11+ "namespace^path"
  status VARCHAR(16) NOT NULL DEFAULT 'FINAL',     -- 2.1+  PRELIMINARY | FINAL | AMENDED
  interpretation VARCHAR(32),                      -- 2.1+  NORMAL | ABNORMAL | CRITICALLY_* | HIGH | LOW | ...
  KEY obs_concept (concept_id), KEY person_obs (person_id), KEY encounter_observations (encounter_id),
  KEY obs_datetime_idx (obs_datetime), KEY obs_grouping_id (obs_group_id));
-- ≤1.8 legacy: concept_source(concept_source_id, name, description, hl7_code, ...),
--              concept_map(concept_map_id, source, source_code, comment, creator, date_created, concept_id, uuid)
--              concept_name_tag / concept_name_tag_map (1.5–1.6 preferred-name flags)
CREATE TABLE global_property (
  property VARCHAR(255) NOT NULL PRIMARY KEY, property_value TEXT, description TEXT,
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE fhir_concept_source (                 -- fhir2 module table (2.x databases only)
  fhir_concept_source_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255),
  url VARCHAR(255), concept_source_id INT, creator INT NOT NULL, date_created DATETIME NOT NULL,
  retired TINYINT(1) NOT NULL DEFAULT 0, uuid CHAR(38) NOT NULL UNIQUE);
-- The clinical tables (2.x shapes, from liquibase-schema-only-2.9.x; version notes in comments).
CREATE TABLE drug (
  drug_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, concept_id INT NOT NULL, name VARCHAR(255),
  combination TINYINT(1) NOT NULL DEFAULT 0, dosage_form INT, maximum_daily_dose DOUBLE,
  minimum_daily_dose DOUBLE, route INT, strength VARCHAR(255), dose_limit_units INT,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE order_type (
  order_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, description TEXT,
  java_class_name VARCHAR(255),                    -- 1.10+
  parent INT,                                      -- 1.10+
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE care_setting (                        -- 1.10+
  care_setting_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL,
  description VARCHAR(255), care_setting_type VARCHAR(50) NOT NULL,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE order_frequency (                     -- 1.10+
  order_frequency_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, concept_id INT NOT NULL,
  frequency_per_day DOUBLE,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE orders (                              -- 1.10+ shape; 1.9 in openmrs_19.sql
  order_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, order_type_id INT, concept_id INT NOT NULL,
  orderer INT,                                     -- provider_id (1.9: users.user_id)
  encounter_id INT, instructions TEXT, date_activated DATETIME, auto_expire_date DATETIME,
  date_stopped DATETIME, order_reason INT, order_reason_non_coded VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  patient_id INT NOT NULL, accession_number VARCHAR(255), uuid CHAR(38) NOT NULL UNIQUE,
  urgency VARCHAR(50) NOT NULL DEFAULT 'ROUTINE', order_number VARCHAR(50),
  previous_order_id INT, order_action VARCHAR(50) NOT NULL DEFAULT 'NEW',
  comment_to_fulfiller VARCHAR(1024), care_setting INT, scheduled_date DATETIME,
  order_group_id INT, sort_weight DOUBLE,          -- 2.2+
  fulfiller_comment VARCHAR(1024), fulfiller_status VARCHAR(50), -- 2.2+
  form_namespace_and_path VARCHAR(255),            -- 2.5+
  KEY orders_patient (patient_id), KEY orders_previous (previous_order_id));
CREATE TABLE drug_order (
  order_id INT NOT NULL PRIMARY KEY, drug_inventory_id INT, dose DOUBLE,
  as_needed TINYINT(1), dosing_type VARCHAR(255), quantity DOUBLE, as_needed_condition VARCHAR(255),
  num_refills INT, dosing_instructions TEXT, duration INT, duration_units INT, quantity_units INT,
  route INT, dose_units INT, frequency INT, brand_name VARCHAR(255),
  dispense_as_written TINYINT(1) NOT NULL DEFAULT 0, drug_non_coded VARCHAR(255));
CREATE TABLE test_order (                          -- 1.10+
  order_id INT NOT NULL PRIMARY KEY, specimen_source INT, laterality VARCHAR(20),
  clinical_history TEXT, frequency INT, number_of_repeats INT, location INT);
CREATE TABLE allergy (                             -- 2.0+ (1.9-1.12: active_list_allergy)
  allergy_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, patient_id INT NOT NULL,
  severity_concept_id INT, coded_allergen INT, non_coded_allergen VARCHAR(255),
  allergen_type VARCHAR(50) NOT NULL, comments VARCHAR(1024),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE, form_namespace_and_path VARCHAR(255), encounter_id INT);
CREATE TABLE allergy_reaction (                    -- 2.0+
  allergy_reaction_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, allergy_id INT NOT NULL,
  reaction_concept_id INT, reaction_non_coded VARCHAR(255), uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE conditions (                          -- 2.2+ (1.9-1.12: active_list_problem)
  condition_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, additional_detail VARCHAR(255),
  previous_version INT, condition_coded INT, condition_non_coded VARCHAR(255), condition_coded_name INT,
  clinical_status VARCHAR(50) NOT NULL, verification_status VARCHAR(50), onset_date DATETIME,
  date_created DATETIME NOT NULL, voided TINYINT(1) NOT NULL DEFAULT 0, date_voided DATETIME,
  void_reason VARCHAR(255), uuid VARCHAR(38) NOT NULL UNIQUE, creator INT NOT NULL, voided_by INT,
  changed_by INT, patient_id INT NOT NULL, end_date DATETIME, date_changed DATETIME,
  encounter_id INT, form_namespace_and_path VARCHAR(255));
CREATE TABLE encounter_diagnosis (                 -- 2.2+
  diagnosis_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, diagnosis_coded INT,
  diagnosis_non_coded VARCHAR(255), diagnosis_coded_name INT, encounter_id INT NOT NULL,
  patient_id INT NOT NULL, condition_id INT, certainty VARCHAR(255) NOT NULL, dx_rank INT NOT NULL,
  uuid CHAR(38) NOT NULL UNIQUE,
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  form_namespace_and_path VARCHAR(255));
CREATE TABLE medication_dispense (                 -- 2.6+
  medication_dispense_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, uuid CHAR(38) NOT NULL UNIQUE,
  patient_id INT NOT NULL, encounter_id INT, concept INT NOT NULL, drug_id INT, location_id INT,
  dispenser INT, drug_order_id INT, status INT NOT NULL, status_reason INT, type INT,
  quantity DOUBLE, quantity_units INT, dose DOUBLE, dose_units INT, route INT, frequency INT,
  as_needed TINYINT(1), dosing_instructions TEXT, date_prepared DATETIME, date_handed_over DATETIME,
  was_substituted TINYINT(1), substitution_type INT, substitution_reason INT,
  form_namespace_and_path VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL, changed_by INT, date_changed DATETIME,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255));
