-- Schema version 1: the four levels of the information model, per-value rows of
-- multi-valued and extra attributes. Attribute columns are named by index.Attrs; they hold the
-- decoded (UTF-8) value, multiple values joined with backslashes, '' when absent. PN columns
-- have an upper-cased copy (_upper) for case-insensitive and fuzzy matching.

CREATE TABLE patients (
	pk INTEGER PRIMARY KEY,
	"patient_name" TEXT NOT NULL DEFAULT '',
	"patient_name_upper" TEXT NOT NULL DEFAULT '',
	"patient_id" TEXT NOT NULL DEFAULT '',
	"issuer_of_patient_id" TEXT NOT NULL DEFAULT '',
	"patient_birth_date" TEXT NOT NULL DEFAULT '',
	"patient_birth_time" TEXT NOT NULL DEFAULT '',
	"patient_sex" TEXT NOT NULL DEFAULT '',
	"other_patient_ids" TEXT NOT NULL DEFAULT '',
	"ethnic_group" TEXT NOT NULL DEFAULT '',
	"patient_comments" TEXT NOT NULL DEFAULT '',
	num_studies INTEGER NOT NULL DEFAULT 0,
	num_series INTEGER NOT NULL DEFAULT 0,
	num_instances INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX patients_key ON patients (patient_id, issuer_of_patient_id);
CREATE INDEX patients_name ON patients (patient_name);
CREATE INDEX patients_name_upper ON patients (patient_name_upper);
CREATE INDEX patients_birth_date ON patients (patient_birth_date);

CREATE TABLE studies (
	pk INTEGER PRIMARY KEY,
	patient_pk INTEGER NOT NULL REFERENCES patients (pk),
	"study_uid" TEXT NOT NULL DEFAULT '',
	"study_date" TEXT NOT NULL DEFAULT '',
	"study_time" TEXT NOT NULL DEFAULT '',
	"accession_number" TEXT NOT NULL DEFAULT '',
	"study_id" TEXT NOT NULL DEFAULT '',
	"study_description" TEXT NOT NULL DEFAULT '',
	"referring_physician_name" TEXT NOT NULL DEFAULT '',
	"referring_physician_name_upper" TEXT NOT NULL DEFAULT '',
	"physicians_reading_study" TEXT NOT NULL DEFAULT '',
	"physicians_reading_study_upper" TEXT NOT NULL DEFAULT '',
	"admitting_diagnoses" TEXT NOT NULL DEFAULT '',
	"patient_age" TEXT NOT NULL DEFAULT '',
	"patient_size" TEXT NOT NULL DEFAULT '',
	"patient_weight" TEXT NOT NULL DEFAULT '',
	"occupation" TEXT NOT NULL DEFAULT '',
	"additional_patient_history" TEXT NOT NULL DEFAULT '',
	"institution_name" TEXT NOT NULL DEFAULT '',
	modalities_in_study TEXT NOT NULL DEFAULT '',
	sop_classes_in_study TEXT NOT NULL DEFAULT '',
	num_series INTEGER NOT NULL DEFAULT 0,
	num_instances INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX studies_uid ON studies (study_uid);
CREATE INDEX studies_patient ON studies (patient_pk);
CREATE INDEX studies_date ON studies (study_date, study_time);
CREATE INDEX studies_accession ON studies (accession_number);
CREATE INDEX studies_id ON studies (study_id);
CREATE INDEX studies_referring_upper ON studies (referring_physician_name_upper);

CREATE TABLE series (
	pk INTEGER PRIMARY KEY,
	study_pk INTEGER NOT NULL REFERENCES studies (pk),
	"series_uid" TEXT NOT NULL DEFAULT '',
	"modality" TEXT NOT NULL DEFAULT '',
	"series_number" TEXT NOT NULL DEFAULT '',
	"series_description" TEXT NOT NULL DEFAULT '',
	"series_date" TEXT NOT NULL DEFAULT '',
	"series_time" TEXT NOT NULL DEFAULT '',
	"body_part_examined" TEXT NOT NULL DEFAULT '',
	"laterality" TEXT NOT NULL DEFAULT '',
	"protocol_name" TEXT NOT NULL DEFAULT '',
	"pps_start_date" TEXT NOT NULL DEFAULT '',
	"pps_start_time" TEXT NOT NULL DEFAULT '',
	"station_name" TEXT NOT NULL DEFAULT '',
	"manufacturer" TEXT NOT NULL DEFAULT '',
	"operators_name" TEXT NOT NULL DEFAULT '',
	"operators_name_upper" TEXT NOT NULL DEFAULT '',
	"performing_physician_name" TEXT NOT NULL DEFAULT '',
	"performing_physician_name_upper" TEXT NOT NULL DEFAULT '',
	series_number_int INTEGER NOT NULL DEFAULT 0,
	num_instances INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX series_uid ON series (series_uid);
CREATE INDEX series_study ON series (study_pk, series_number_int);
CREATE INDEX series_modality ON series (modality);

CREATE TABLE instances (
	pk INTEGER PRIMARY KEY,
	series_pk INTEGER NOT NULL REFERENCES series (pk),
	"sop_uid" TEXT NOT NULL DEFAULT '',
	"sop_class_uid" TEXT NOT NULL DEFAULT '',
	"instance_number" TEXT NOT NULL DEFAULT '',
	"rows" TEXT NOT NULL DEFAULT '',
	"columns" TEXT NOT NULL DEFAULT '',
	"bits_allocated" TEXT NOT NULL DEFAULT '',
	"number_of_frames" TEXT NOT NULL DEFAULT '',
	"content_date" TEXT NOT NULL DEFAULT '',
	"content_time" TEXT NOT NULL DEFAULT '',
	"acquisition_date" TEXT NOT NULL DEFAULT '',
	"acquisition_time" TEXT NOT NULL DEFAULT '',
	"image_type" TEXT NOT NULL DEFAULT '',
	"photometric" TEXT NOT NULL DEFAULT '',
	"completion_flag" TEXT NOT NULL DEFAULT '',
	"verification_flag" TEXT NOT NULL DEFAULT '',
	"content_label" TEXT NOT NULL DEFAULT '',
	"document_title" TEXT NOT NULL DEFAULT '',
	instance_number_int INTEGER NOT NULL DEFAULT 0,
	number_of_frames_int INTEGER NOT NULL DEFAULT 0,
	transfer_syntax_uid TEXT NOT NULL DEFAULT '',
	blob_key TEXT NOT NULL,
	size INTEGER NOT NULL DEFAULT 0,
	sha256 BLOB,
	received_at INTEGER,
	source_ae TEXT NOT NULL DEFAULT '',
	metadata BLOB,
	frames BLOB
);
CREATE UNIQUE INDEX instances_uid ON instances (sop_uid);
CREATE UNIQUE INDEX instances_blob ON instances (blob_key);
CREATE INDEX instances_series ON instances (series_pk, instance_number_int);
CREATE INDEX instances_sop_class ON instances (sop_class_uid);

-- One row per value of the multi-valued attributes of index.Attrs (index.MultiValued) and of
-- the configured extra attributes, for "any value matches" matching. level is index.Level,
-- entity_pk the primary key in that level's table, seq the value's position.
CREATE TABLE attr_values (
	level INTEGER NOT NULL,
	entity_pk INTEGER NOT NULL,
	tag INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	value TEXT NOT NULL,
	value_upper TEXT NOT NULL,
	PRIMARY KEY (level, entity_pk, tag, seq)
);
CREATE INDEX attr_values_value ON attr_values (tag, value);
CREATE INDEX attr_values_upper ON attr_values (tag, value_upper);
