from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from evaluation.models import RUBRIC, Decision

SCORE_CHOICES = [(0, "0"), (1, "1"), (2, "2")]


class EvaluationForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("- sharp, faithful to the prompt\n- slight halo on the left edge")}),
        label=_("Justification"),
        required=False,
        max_length=4000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, help_text in RUBRIC:
            self.fields[name] = forms.TypedChoiceField(
                label=label, help_text=help_text, choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
            )
        # Scores first, justification last, in the rubric's order.
        self.order_fields([name for name, _, _ in RUBRIC] + ["justification"])


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, label=_("Decision"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000, label=_("Reason"))
    confirm = forms.BooleanField(required=False, label=_("I checked what the scene kept"))

    def clean(self):
        data = super().clean()
        # A reason that failed its own check (too long) is not a missing reason.
        if data.get("decision") == Decision.REJECTED and "reason" not in self.errors and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why it is rejected: the merchandiser needs the reason to try again."))
        return data
