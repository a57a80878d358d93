"""Forms of the results pages: freeze, unfreeze (with a reason) and the what-if parameters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

import scoring

from .. import scoring_adapter
from ..labels import AGGREGATION
from ..models import Aggregation, Stage
from .operations import REASON_LIMIT

MAX_TRIM = 10
MAX_DECIMALS = 6  # the engine's limit


class FreezeForm(FlaskForm):
    """Only the CSRF token: the freeze itself has nothing to choose."""


class UnfreezeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for unfreezing"), validators=[DataRequired(), Length(max=REASON_LIMIT)],
                           description=_l("Recorded in the audit trail and shown with the results' history."))


class WhatIfForm(FlaskForm):
    """The alternative method, read from the query string (GET: no CSRF, nothing is written)."""

    class Meta:
        csrf = False

    method = SelectField(_l("How the judges' scores are combined"),
                         choices=[(a.value, AGGREGATION[a]) for a in Aggregation])
    trim = IntegerField(_l("Scores trimmed at each end"), validators=[InputRequired(), NumberRange(0, MAX_TRIM)])
    trim_level = SelectField(_l("Trim applies to"), choices=[("total", _l("each judge's total")),
                                                             ("criterion", _l("each criterion separately"))])
    round_each_stage = SelectField(_l("Rounding"), choices=[("1", _l("Round each stage (panel mark, then points)")),
                                                            ("0", _l("Round the final total only"))])
    decimals = IntegerField(_l("Decimal places"), validators=[InputRequired(), NumberRange(0, MAX_DECIMALS)])

    @classmethod
    def for_stage(cls, stage: Stage, args: MultiDict) -> WhatIfForm:
        """Filled from the query string; what it leaves out stays as the stage's official setting."""
        formdata = MultiDict({"method": stage.aggregation.value, "trim": str(stage.trim),
                              "trim_level": stage.trim_level, "decimals": str(stage.decimals),
                              "round_each_stage": "1" if stage.round_each_stage else "0"})
        for name in formdata.keys():
            if name in args:
                formdata.setlist(name, args.getlist(name))
        form = cls(formdata=formdata)
        form.stage = stage
        return form

    def to_config(self) -> scoring.AggregationConfig:
        """Raises ``scoring.InvalidConfig`` for a combination the engine refuses. The stage's
        tie-break and too-few-judges policy stay as they are (the what-if varies the method)."""
        stage = getattr(self, "stage", None)
        official = scoring_adapter.stage_config(stage) if stage is not None else scoring.AggregationConfig()
        return scoring.AggregationConfig(method=self.method.data, trim=self.trim.data, trim_level=self.trim_level.data,
                                         round_each_stage=self.round_each_stage.data == "1",
                                         decimals=self.decimals.data, tie_break=official.tie_break,
                                         too_few_judges=official.too_few_judges)
