# NPS surveys (SPEC §8) arrive with their own issue.
