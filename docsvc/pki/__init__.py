"""Demo and test PKI: certificates, CRLs and loopback TSA/OCSP/CRL responders.

Never used in production: ``Settings.validate()`` refuses demo material there.
"""
