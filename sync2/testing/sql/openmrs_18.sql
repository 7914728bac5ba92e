-- Turn the B5 schema into an OpenMRS 1.8-style one (B1: what 1.9 added, renamed or dropped).
DROP TABLE provider, encounter_provider, encounter_role, visit, visit_type, concept_map_type,
  concept_reference_term, concept_reference_map, fhir_concept_source;
RENAME TABLE concept_reference_source TO concept_source;
CREATE TABLE concept_map (
  concept_map_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, source INT, source_code VARCHAR(255),
  comment VARCHAR(255), creator INT NOT NULL, date_created DATETIME NOT NULL, concept_id INT NOT NULL,
  uuid CHAR(38) NOT NULL UNIQUE);
ALTER TABLE encounter ADD COLUMN provider_id INT NOT NULL DEFAULT 0, DROP COLUMN visit_id;
ALTER TABLE obs DROP COLUMN previous_version, DROP COLUMN status, DROP COLUMN interpretation,
  DROP COLUMN form_namespace_and_path;
ALTER TABLE concept_numeric CHANGE allow_decimal precise TINYINT(1), DROP COLUMN display_precision;
ALTER TABLE patient_identifier DROP COLUMN date_changed, DROP COLUMN changed_by;
ALTER TABLE person_address DROP COLUMN date_changed, DROP COLUMN changed_by;
ALTER TABLE location DROP COLUMN date_changed, DROP COLUMN changed_by;
