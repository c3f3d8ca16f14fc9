"""``make bench``: run every benchmark in turn."""

from bench import audit_chain, certificates, residents, web

if __name__ == "__main__":
    audit_chain.main()
    certificates.main([])
    residents.main([])
    web.main([])
