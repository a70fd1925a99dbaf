from leads.roles import role_of


def roles(request):
    role = role_of(request.user) if hasattr(request, "user") else None
    return {"role": role, "is_marketer": role in {"marketer", "admin"}}
