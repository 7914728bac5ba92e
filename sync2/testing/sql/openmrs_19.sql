-- Turn the clinical tables of the B5 schema into OpenMRS 1.9's (liquibase-schema-only-1.9.x):
-- no allergy / conditions / diagnoses / dispenses / test orders / care settings / frequencies;
-- allergies and problems in the active list; orders with start_date and discontinued.
DROP TABLE allergy, allergy_reaction, conditions, encounter_diagnosis, medication_dispense,
  test_order, care_setting, order_frequency;
DROP TABLE orders, drug_order;
CREATE TABLE orders (
  order_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, order_type_id INT NOT NULL DEFAULT 0,
  concept_id INT NOT NULL, orderer INT,            -- users.user_id
  encounter_id INT, instructions TEXT, start_date DATETIME, auto_expire_date DATETIME,
  discontinued TINYINT(1) NOT NULL DEFAULT 0, discontinued_date DATETIME, discontinued_by INT,
  discontinued_reason INT, discontinued_reason_non_coded VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  patient_id INT NOT NULL, accession_number VARCHAR(255), uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE drug_order (
  order_id INT NOT NULL PRIMARY KEY, drug_inventory_id INT, dose DOUBLE, equivalent_daily_dose DOUBLE,
  units VARCHAR(255), frequency VARCHAR(255), prn TINYINT(1) NOT NULL DEFAULT 0,
  complex TINYINT(1) NOT NULL DEFAULT 0, quantity INT);
ALTER TABLE order_type DROP COLUMN java_class_name, DROP COLUMN parent, DROP COLUMN changed_by,
  DROP COLUMN date_changed;
CREATE TABLE active_list_type (
  active_list_type_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL,
  description VARCHAR(255), creator INT NOT NULL, date_created DATETIME NOT NULL,
  retired TINYINT(1) NOT NULL DEFAULT 0, retired_by INT, date_retired DATETIME, retire_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE active_list (
  active_list_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, active_list_type_id INT NOT NULL,
  person_id INT NOT NULL, concept_id INT NOT NULL, start_obs_id INT, stop_obs_id INT,
  start_date DATETIME NOT NULL, end_date DATETIME, comments VARCHAR(255),
  creator INT NOT NULL, date_created DATETIME NOT NULL,
  voided TINYINT(1) NOT NULL DEFAULT 0, voided_by INT, date_voided DATETIME, void_reason VARCHAR(255),
  uuid CHAR(38) NOT NULL UNIQUE);
CREATE TABLE active_list_allergy (
  active_list_id INT NOT NULL PRIMARY KEY, allergy_type VARCHAR(50), reaction_concept_id INT,
  severity VARCHAR(50));
CREATE TABLE active_list_problem (
  active_list_id INT NOT NULL PRIMARY KEY, status VARCHAR(50), sort_weight DOUBLE);
