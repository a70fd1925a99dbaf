import json

from django.core.management.base import BaseCommand, CommandError

from models_review.learning import services
from models_review.learning.selectors import suggestion_document


class Command(BaseCommand):
    help = (
        "Learn from sales labels (§11): suggested points per rule and new rules, validated on the "
        "newest 20 % of labels. Below 40 positive or 40 negative labels, shows the tally calibration."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument("--draft", action="store_true", help="Also write a draft version from it.")

    def handle(self, *args, json: bool = False, draft: bool = False, **options):
        try:
            run = services.learning_train()
        except LookupError as problem:
            raise CommandError(str(problem)) from None
        document = suggestion_document(run)
        if draft and document["enough_labels"]:
            try:
                version = services.draft_from_suggestion(run=run)
            except services.SuggestionError as problem:
                raise CommandError(str(problem)) from None
            document["draft_version"] = version.number
        if json:
            self.stdout.write(_dumps(document))
            return
        self.stdout.write(_text(document))


def _dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


def _text(document: dict) -> str:
    labels = document["labels"]
    lines = [f"Labels: {labels['positive']} positive, {labels['negative']} negative."]
    if not document["enough_labels"]:
        tally = document["tally_calibration"]
        lines.append(document["message"])
        lines.append(
            f"Tally calibration (T = {tally['sales_ready_score']:g}, "
            f"{tally['leads']} leads reached sales-ready):"
        )
        for stage, average in tally["average_interactions"].items():
            lines.append(f"  {stage}: {average:g} interactions on average")
        suggested = tally["suggested_points_per_interaction"]
        lines.append(f"  Suggested points per interaction: {suggested if suggested is not None else '—'}")
        return "\n".join(lines)
    holdout = document["holdout"]
    lines.append(
        f"Holdout (newest {holdout['size']} labels): AUC {holdout['auc']}, "
        f"top-decile lift {holdout['lift_top_decile']}"
    )
    lines.append(document["scaling"])
    for row in document["rules"]:
        lines.append(
            f"  {row['label']}: {row['points']:g} → {row['suggested_points']}"
            f"  ({row['leads_with']} labelled leads did it)"
        )
    for row in document["new_rules"]:
        lines.append(
            f"  new {row['label']}: {row['suggested_points']}  ({row['leads_with']} labelled leads did it)"
        )
    if "draft_version" in document:
        lines.append(f"Draft v{document['draft_version']} written; preview it under Model.")
    return "\n".join(lines)
