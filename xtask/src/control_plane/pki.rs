//! Certificates and keys of one control-plane run (ECDSA P-256, rcgen with its ring backend): one CA that signs
//! the API server's serving certificate (127.0.0.1 and localhost) and the admin client certificate
//! (`CN=admin`, `O=system:masters`), and the service-account signing key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// PEM files written to the state directory, and the PEM texts the kubeconfig embeds.
pub struct Pki {
    pub ca_cert: PathBuf,
    pub serving_cert: PathBuf,
    pub serving_key: PathBuf,
    pub sa_public_key: PathBuf,
    pub sa_private_key: PathBuf,
    pub ca_pem: String,
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
}

/// Generates a fresh PKI into `dir` (replacing what is there).
pub fn generate(dir: &Path) -> Result<Pki> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let now = OffsetDateTime::now_utc();
    let validity = |params: &mut CertificateParams| {
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(30);
    };

    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, "model-booster-control-plane-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    validity(&mut ca);
    let ca_cert = ca.self_signed(&ca_key).context("self-signing the CA")?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca, ca_key);

    let serving_key = KeyPair::generate().context("generating the serving key")?;
    let mut serving = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
        .context("serving certificate names")?;
    serving.distinguished_name.push(DnType::CommonName, "kube-apiserver");
    serving.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    serving.use_authority_key_identifier_extension = true;
    validity(&mut serving);
    let serving_cert = serving.signed_by(&serving_key, &issuer).context("signing the serving certificate")?;

    let admin_key = KeyPair::generate().context("generating the admin key")?;
    let mut admin = CertificateParams::default();
    admin.distinguished_name.push(DnType::CommonName, "admin");
    admin.distinguished_name.push(DnType::OrganizationName, "system:masters");
    admin.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    admin.use_authority_key_identifier_extension = true;
    validity(&mut admin);
    let admin_cert = admin.signed_by(&admin_key, &issuer).context("signing the admin certificate")?;

    let sa_key = KeyPair::generate().context("generating the service-account key")?;

    let pki = Pki {
        ca_cert: dir.join("ca.crt"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        sa_public_key: dir.join("sa.pub"),
        sa_private_key: dir.join("sa.key"),
        ca_pem,
        admin_cert_pem: admin_cert.pem(),
        admin_key_pem: admin_key.serialize_pem(),
    };
    write(&pki.ca_cert, &pki.ca_pem)?;
    write(&pki.serving_cert, &serving_cert.pem())?;
    write(&pki.serving_key, &serving_key.serialize_pem())?;
    write(&pki.sa_public_key, &sa_key.public_key_pem())?;
    write(&pki.sa_private_key, &sa_key.serialize_pem())?;
    write(&dir.join("admin.crt"), &pki.admin_cert_pem)?;
    write(&dir.join("admin.key"), &pki.admin_key_pem)?;
    Ok(pki)
}

/// Writes a file readable by its owner only (keys and certificates of a test plane; still no reason to share).
pub(super) fn write(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
