"""The ledger declarations (disputes.ledgers) hold together: every field they name is the
model's, the forms write only what the services take, and the pages, API, exports and
services built from them serve each ledger."""

import pytest

from core.exports import EXPORT_KINDS
from disputes.api.serializers import INPUT, OUTPUT
from disputes.api.views import LEDGER_VIEWSETS
from disputes.forms import FILTERS, FORMS, HANDLE_FORMS
from disputes.ledgers import BY_MODEL, LEDGERS
from disputes.services import CHECKS

SPECS = list(LEDGERS.values())


@pytest.mark.parametrize("ledger", SPECS, ids=list(LEDGERS))
def test_a_declaration_names_its_models_fields(ledger):
    model_fields = {f.name for f in ledger.model._meta.get_fields()}
    assert set(ledger.fields) <= model_fields
    assert len(set(ledger.fields)) == len(ledger.fields)
    written = {*ledger.form_fields, *ledger.form_extra, *ledger.handle_fields}
    assert written <= set(ledger.fields)
    assert set(ledger.api_input_extra) <= set(ledger.fields)
    assert set(ledger.api_output_first) <= set(ledger.api_output_extra)
    assert {*ledger.filter_fields, *ledger.more_filters} <= model_fields
    assert {*ledger.ordering_fields} <= model_fields
    assert ledger.date_field in ledger.form_fields
    assert len(ledger.headers) == len(ledger.widths) == len(ledger.columns)


@pytest.mark.parametrize("ledger", SPECS, ids=list(LEDGERS))
def test_every_layer_serves_every_ledger(ledger):
    assert BY_MODEL[ledger.model] is ledger
    assert ledger.key in CHECKS
    assert list(FORMS[ledger.key].base_fields) == [
        "village",
        "unit",
        *ledger.form_fields,
        *ledger.form_extra,
    ]
    if ledger.handle_fields:
        assert list(HANDLE_FORMS[ledger.key].base_fields) == list(ledger.handle_fields)
    else:
        assert ledger.key not in HANDLE_FORMS
    filters = FILTERS[ledger.key].base_filters
    assert {*ledger.filter_fields, *ledger.more_filters} <= set(filters)
    assert FILTERS[ledger.key].date_field == ledger.date_field
    assert set(INPUT[ledger.key]().fields) == {"village", "unit", *ledger.fields}
    assert set(ledger.fields) | set(ledger.api_output_extra) <= set(OUTPUT[ledger.key]().fields)
    assert LEDGER_VIEWSETS[ledger.key].ledger is ledger
    kind = EXPORT_KINDS[ledger.export_kind]
    assert (kind.label, tuple(kind.headers)) == (ledger.export_title, ledger.headers)
