"""The RDS CA bundle the backend role installs (roles/backend/files/rds-ca-bundle.pem)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import yaml
from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "roles" / "backend" / "files" / "rds-ca-bundle.pem"
# The CA generation the data layer pins (data_mysql_ca_certificate) -> the root's common name.
ROOT_NAMES = {"rds-ca-rsa2048-g1": "RSA2048 G1", "rds-ca-rsa4096-g1": "RSA4096 G1", "rds-ca-ecc384-g1": "ECC384 G1"}


def certificates() -> list[x509.Certificate]:
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", BUNDLE.read_text(), re.S)
    return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]


def common_name(certificate: x509.Certificate) -> str:
    return certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


def test_every_certificate_is_a_root_ca_of_rds_valid_for_years():
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365 * 5)
    found = certificates()
    assert len(found) == 81  # 27 regions x 3 CA generations
    for certificate in found:
        assert common_name(certificate).startswith("Amazon RDS "), common_name(certificate)
        assert certificate.subject == certificate.issuer
        assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert certificate.not_valid_after_utc > soon, common_name(certificate)


def test_the_ca_the_data_layer_pins_is_there_for_each_inventorys_region():
    names = {common_name(c) for c in certificates()}
    defaults = yaml.safe_load((ROOT / "roles" / "data" / "defaults" / "main.yml").read_text())
    for inventory in ("prod", "staging"):
        group_vars = ROOT / "inventories" / inventory / "group_vars" / "all" / "main.yml"
        settings = defaults | yaml.safe_load(group_vars.read_text())
        pinned = ROOT_NAMES[settings["data_mysql_ca_certificate"]]
        assert f"Amazon RDS {settings['webstack_region']} Root CA {pinned}" in names
