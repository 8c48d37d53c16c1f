"""A campaign's classification labels: how they are typed, what makes them valid, and their names.

A label is {"name", "description"} and, when given, "angle": the description steers which label
a lead gets (internal), the angle is what a message to such a lead leads with (prospects read it).
Every form, service and page that handles labels goes through these functions.
"""

NAME_MAX = 50  # Lead.label's length: a longer name could not be stored on a lead
DESCRIPTION_MAX = 200  # it is read into every qualification prompt


def labels_from_text(text: str) -> list[dict]:
    """One label per line as "Name: description | angle" (the description and angle are optional)."""
    labels = []
    for line in text.splitlines():
        if line.strip():
            name, _, rest = line.partition(":")
            description, _, angle = rest.partition("|")
            labels.append({"name": name, "description": description, "angle": angle})
    return labels_clean(labels)


def labels_as_text(labels: list[dict]) -> str:
    """The labels as labels_from_text reads them back."""
    lines = []
    for label in labels:
        line = f"{label['name']}: {label.get('description', '')}".rstrip(": ")
        lines.append(f"{line} | {label['angle']}" if label.get("angle") else line)
    return "\n".join(lines)


def labels_clean(labels: list[dict]) -> list[dict]:
    """Each label stripped, with only the keys a label has; an empty angle is left out."""
    cleaned = []
    for label in labels:
        item = {"name": (label.get("name") or "").strip(), "description": (label.get("description") or "").strip()}
        if angle := (label.get("angle") or "").strip():
            item["angle"] = angle
        cleaned.append(item)
    return cleaned


def label_errors(labels: list[dict]) -> list[str]:
    """What is wrong with the labels, in words for the person who typed them; empty when they are fine."""
    if not labels:
        return ["Add at least one label, one per line as Name: description."]
    errors, seen = [], set()
    for label in labels_clean(labels):
        name = label["name"]
        if not name:
            errors.append("Every label needs a name before its colon.")
        elif len(name) > NAME_MAX:
            errors.append(f"Label names are at most {NAME_MAX} characters: {name[:20]!r}… is longer.")
        elif name.casefold() in seen:
            errors.append(f"Each label needs its own name: {name!r} appears twice.")
        if len(label["description"]) > DESCRIPTION_MAX:
            errors.append(f"A label's description is at most {DESCRIPTION_MAX} characters: {name[:20]!r}'s is longer.")
        seen.add(name.casefold())
    return errors


def label_names(labels) -> list[str]:
    """The names of stored labels, skipping entries an admin left malformed (the admin edits them as JSON)."""
    if not isinstance(labels, list):
        return []
    return [
        label["name"]
        for label in labels
        if isinstance(label, dict) and isinstance(label.get("name"), str) and label["name"].strip()
    ]
