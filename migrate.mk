# migrate.mk: migrations as make batch jobs (README, "Batch jobs with make").
#
# Each export goes through four stages, each a file under $(OUT)/<name>/ that stands only when
# its stage truly finished:
#
#   validate.json -> plan.json -> run.json -> verify.json
#
#   make -f migrate.mk EXPORT=exports/acme MAILBOX=85               # one export, name "acme"
#   make -f migrate.mk -j2 EXPORTS="exports/acme.jsonl shop=exports/shop.zip" MAILBOX=85
#   make -f migrate.mk migrate-run ...                               # stop after the import
#
# EXPORTS lists exports as PATH or NAME=PATH (name: the path's last part without extension);
# EXPORT=PATH [NAME=...] is the one-export spelling. Every variable below can be set per export
# as VARIABLE_<name> (MAILBOX_shop=86, EXTRA_shop=--format zendesk...). Paths without spaces.
# Credentials come from the environment (HELPSCOUT_APP_ID/HELPSCOUT_APP_SECRET or
# HELPSCOUT_ACCESS_TOKEN), as for the importer itself.
#
# Rerunning make after a stop (Ctrl-C, a fatal exit 3, failed conversations) runs `run` again,
# which resumes from the checkpoint. A blocker from `plan` (exit 2) stops before anything is
# sent. Invalid conversations are listed and left out; STOP_ON_INVALID=1 stops the chain
# at validate instead.

MIGRATE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

# --- variables -------------------------------------------------------------------------------
# the importer command; the checkout's .venv when there is one
IMPORTER ?= $(firstword $(wildcard $(MIGRATE_DIR)/.venv/bin/importer) importer)
# a Python 3 for scripts/report_check.py (standard library only)
IMPORTER_PY ?= $(firstword $(wildcard $(MIGRATE_DIR)/.venv/bin/python) python3)
REPORT_CHECK ?= $(IMPORTER_PY) $(MIGRATE_DIR)/scripts/report_check.py
# folder of the stage files, one folder per export
OUT ?= migrations
EXPORT ?=
NAME ?=
EXPORTS ?= $(if $(EXPORT),$(if $(NAME),$(NAME)=)$(EXPORT))
# target mailbox (plan, run) and API (empty: HELPSCOUT_API_URL, else Help Scout's own)
MAILBOX ?=
API_URL ?=
# units per minute (empty: the importer's default, 400); the API's headers may lower it
RATE_LIMIT ?=
# the checkpoint (empty: $(OUT)/<name>/checkpoint.sqlite)
CHECKPOINT ?=
FORMAT ?=
MAPPING ?=
# options of every stage that reads the export (validate, plan, run): --tag, --status-policy,
# --since, --limit, --attachments, --source-tz, --no-email-policy, --max-request-bytes...
EXTRA ?=
# options of the stages that talk to the API (plan, run): --users, --default-user,
# --source-id-field, --attachments-dir, --ca-bundle
API_EXTRA ?=
# options of run alone: --workers, --reconcile-wait, --download-*, --log-json FILE
RUN_EXTRA ?=
# options of verify (which always writes verify.html and mismatches.csv): --sample N, --seed S
VERIFY_EXTRA ?=
# non-empty (1, yes): invalid conversations stop the chain at validate
STOP_ON_INVALID ?=
# how many invalid conversations or mismatches are printed
SHOW ?= 10
# the stage `make -f migrate.mk` (target migrate) takes every export to
FINAL ?= verify

# --- helpers ---------------------------------------------------------------------------------
# $(call m_name,ENTRY): NAME of NAME=PATH, else PATH's last part without its extension
m_name = $(if $(findstring =,$(1)),$(firstword $(subst =, ,$(1))),$(basename $(notdir $(patsubst %/,%,$(1)))))
m_path = $(if $(findstring =,$(1)),$(patsubst $(firstword $(subst =, ,$(1)))=%,%,$(1)),$(1))
# $(call m_var,VARIABLE,NAME): VARIABLE_<name> when set, else VARIABLE
m_var = $(if $(filter-out undefined,$(origin $(1)_$(2))),$($(1)_$(2)),$($(1)))
m_opt = $(if $(2),$(1) $(2))

M_NAMES := $(foreach e,$(EXPORTS),$(call m_name,$(e)))

.DELETE_ON_ERROR:
.PHONY: migrate migrate-validate migrate-plan migrate-run migrate-verify migrate-status \
	migrate-list migrate-help $(addprefix migrate-,$(M_NAMES))

# no export given: say how, rather than "Nothing to be done"
m_need = $(if $(strip $(EXPORTS)),,@echo 'migrate.mk: no export: set EXPORT=PATH or EXPORTS="NAME=PATH ..." (make -f migrate.mk migrate-help)' >&2; exit 2)

migrate: $(foreach n,$(M_NAMES),$(OUT)/$(n)/$(FINAL).json)
	$(m_need)
migrate-validate: $(foreach n,$(M_NAMES),$(OUT)/$(n)/validate.json)
	$(m_need)
migrate-plan: $(foreach n,$(M_NAMES),$(OUT)/$(n)/plan.json)
	$(m_need)
migrate-run: $(foreach n,$(M_NAMES),$(OUT)/$(n)/run.json)
	$(m_need)
migrate-verify: $(foreach n,$(M_NAMES),$(OUT)/$(n)/verify.json)
	$(m_need)

migrate-list:
	@$(foreach e,$(EXPORTS),echo "$(call m_name,$(e)): $(call m_path,$(e)) -> $(OUT)/$(call m_name,$(e))/";)

migrate-status:
	@$(foreach n,$(M_NAMES),echo "== $(n)"; $(IMPORTER) status --checkpoint $(or $(call m_var,CHECKPOINT,$(n)),$(OUT)/$(n)/checkpoint.sqlite) || true;)

migrate-help:
	@sed -n '2,/^$$/p' $(MIGRATE_DIR)/migrate.mk | sed 's/^# \{0,1\}//'

# A stage's command writes <stage>.last.json (the latest attempt, whatever came of it);
# report_check decides from its exit code and report whether the stage is made, and only
# then is the report copied to <stage>.json through a temporary name.
# $(call m_finish,STAGE,NAME): the end of every stage's recipe (code holds the exit code)
define m_finish
$(REPORT_CHECK) $(1) $(OUT)/$(2)/$(1).last.json $$$$code --name $(2) --show $(SHOW) \
  $(if $(strip $(call m_var,STOP_ON_INVALID,$(2))),--stop-on-invalid $(call m_var,STOP_ON_INVALID,$(2))) \
  && cp $(OUT)/$(2)/$(1).last.json $(OUT)/$(2)/$(1).json.tmp \
  && mv $(OUT)/$(2)/$(1).json.tmp $(OUT)/$(2)/$(1).json
endef

# $(call m_rules,NAME,PATH): the four stage targets of one export
define m_rules
$(OUT)/$(1)/validate.json: $(2)
	@mkdir -p $(OUT)/$(1)
	@echo "[$(1)] validate $(2)"
	@rm -f $(OUT)/$(1)/validate.last.json; $(IMPORTER) validate $(2) --no-progress \
	  $(call m_opt,--format,$(call m_var,FORMAT,$(1))) \
	  $(call m_opt,--mapping,$(call m_var,MAPPING,$(1))) $(call m_var,EXTRA,$(1)) \
	  --report $(OUT)/$(1)/validate.last.json --dead-letter $(OUT)/$(1)/invalid.jsonl; \
	code=$$$$?; $(call m_finish,validate,$(1))

$(OUT)/$(1)/plan.json: $(OUT)/$(1)/validate.json
	@echo "[$(1)] plan into mailbox $(call m_var,MAILBOX,$(1))"
	@rm -f $(OUT)/$(1)/plan.last.json; $(IMPORTER) plan $(2) --no-progress $(call m_opt,--mailbox,$(call m_var,MAILBOX,$(1))) \
	  $(call m_opt,--api-url,$(call m_var,API_URL,$(1))) \
	  $(call m_opt,--rate-limit,$(call m_var,RATE_LIMIT,$(1))) \
	  $(call m_opt,--format,$(call m_var,FORMAT,$(1))) \
	  $(call m_opt,--mapping,$(call m_var,MAPPING,$(1))) \
	  $(call m_var,EXTRA,$(1)) $(call m_var,API_EXTRA,$(1)) \
	  --report $(OUT)/$(1)/plan.last.json; \
	code=$$$$?; $(call m_finish,plan,$(1))

$(OUT)/$(1)/run.json: $(OUT)/$(1)/plan.json
	@echo "[$(1)] run into mailbox $(call m_var,MAILBOX,$(1))"
	@rm -f $(OUT)/$(1)/run.last.json; $(IMPORTER) run $(2) --no-progress $(call m_opt,--mailbox,$(call m_var,MAILBOX,$(1))) \
	  $(call m_opt,--api-url,$(call m_var,API_URL,$(1))) \
	  $(call m_opt,--rate-limit,$(call m_var,RATE_LIMIT,$(1))) \
	  $(call m_opt,--format,$(call m_var,FORMAT,$(1))) \
	  $(call m_opt,--mapping,$(call m_var,MAPPING,$(1))) \
	  $(call m_var,EXTRA,$(1)) $(call m_var,API_EXTRA,$(1)) $(call m_var,RUN_EXTRA,$(1)) \
	  --checkpoint $(or $(call m_var,CHECKPOINT,$(1)),$(OUT)/$(1)/checkpoint.sqlite) \
	  --report $(OUT)/$(1)/run.last.json --dead-letter $(OUT)/$(1)/dead-letter.jsonl; \
	code=$$$$?; $(call m_finish,run,$(1))

$(OUT)/$(1)/verify.json: $(OUT)/$(1)/run.json
	@echo "[$(1)] verify"
	@rm -f $(OUT)/$(1)/verify.last.json; $(IMPORTER) verify --checkpoint $(or $(call m_var,CHECKPOINT,$(1)),$(OUT)/$(1)/checkpoint.sqlite) \
	  $(call m_opt,--rate-limit,$(call m_var,RATE_LIMIT,$(1))) $(call m_var,VERIFY_EXTRA,$(1)) \
	  --html $(OUT)/$(1)/verify.html --csv $(OUT)/$(1)/mismatches.csv \
	  --report $(OUT)/$(1)/verify.last.json; \
	code=$$$$?; $(call m_finish,verify,$(1))

migrate-$(1): $(OUT)/$(1)/$(FINAL).json
endef

$(foreach e,$(EXPORTS),$(eval $(call m_rules,$(call m_name,$(e)),$(patsubst %/,%,$(call m_path,$(e))))))

ifneq ($(words $(M_NAMES)),$(words $(sort $(M_NAMES))))
$(error migrate.mk: two exports share a name in EXPORTS="$(EXPORTS)"; give them NAME=PATH)
endif
