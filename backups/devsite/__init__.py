"""Local stand-ins for Atlassian Cloud sites: the contract server of the tests, which `make run`
also starts as a clearly labelled local test site (SPEC §8 demo). Not used in production."""
