"""Connected sites: which addresses may be connected (C1)."""


def site_url_problem(url: str, kind: str, *, extra_hosts: list[str]) -> str | None:
    """C1: why `url` cannot be a connected site of `kind`, or None.

    Atlassian Cloud sites are https://<name>.atlassian.net (Confluence under /wiki); the
    operator may allow other hosts (the tests' contract server, `make run`'s local test site).
    Nothing else: a connection must not make the server call into its own network.
    """
    from urllib.parse import urlsplit

    example = "https://<name>.atlassian.net" + ("/wiki" if kind == "confluence" else "")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return f"That is not a web address. Use the site's address, like {example}."
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"Use the site's address alone, like {example}."
    if host in extra_hosts:
        if parts.scheme not in ("http", "https"):
            return f"Use the site's address, like {example}."
        return None
    if parts.scheme != "https" or not host.endswith(".atlassian.net") or port not in (None, 443):
        return f"backupsite connects to Atlassian Cloud sites only: use an address like {example}."
    path = parts.path.rstrip("/")
    if kind == "confluence" and path != "/wiki":
        return f"A Confluence Cloud site's address ends in /wiki, like {example}."
    if kind == "jira" and path:
        return f"Use the site's address without a path, like {example}."
    return None


def site_url_normal(url: str) -> str:
    """The address as stored: no trailing slash."""
    return url.strip().rstrip("/")
