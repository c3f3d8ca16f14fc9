"""``make bench``: run every benchmark in turn."""

from bench import audit_chain, certificates, nhi, residents, tax, web

if __name__ == "__main__":
    audit_chain.main()
    certificates.main([])
    residents.main([])
    tax.main([])
    nhi.main([])
    web.main([])
