//! D-9: the cache volume of a backend, its mount and the download directories inside it.

use booster_api::ModelBackend;
use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, HostPathVolumeSource, PersistentVolumeClaimVolumeSource, Volume, VolumeMount,
};
use md5::{Digest, Md5};

use crate::names;
use crate::validate::patterns::CACHE_URI_FORM_RE;

/// Where a backend caches weights, parsed from `cacheURI` (V-41 syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheLocation {
    /// No `cacheURI`: an emptyDir.
    EmptyDir,
    /// `pvc://<claim>`.
    Claim(String),
    /// `hostpath://<absolute path>`, without a trailing `/`.
    HostPath(String),
}

impl CacheLocation {
    /// Parses a `cacheURI`; `None` when it is not `pvc://<claim-name>` or `hostpath://<absolute-path>` (V-41).
    pub fn parse(cache_uri: Option<&str>) -> Option<Self> {
        let Some(uri) = cache_uri else { return Some(Self::EmptyDir) };
        if !CACHE_URI_FORM_RE.matches(uri) {
            return None;
        }
        if let Some(claim) = uri.strip_prefix("pvc://") {
            return Some(Self::Claim(claim.to_owned()));
        }
        let path = uri.strip_prefix("hostpath://")?;
        Some(Self::HostPath(path.strip_suffix('/').unwrap_or(path).to_owned()))
    }

    /// The mount path, which is the cache root `R`.
    pub fn root(&self) -> String {
        match self {
            Self::EmptyDir => "/models-cache".into(),
            Self::Claim(claim) => format!("/{claim}"),
            Self::HostPath(path) => path.clone(),
        }
    }
}

/// The cache of one backend: its volume, the single mount every container uses, and the paths inside.
#[derive(Clone, Debug)]
pub struct Cache {
    location: CacheLocation,
    volume_name: String,
}

impl Cache {
    /// The cache of `backend` at `location`.
    pub fn new(backend: &ModelBackend, location: CacheLocation) -> Self {
        Self { location, volume_name: names::cache_volume(backend) }
    }

    /// The pod volume.
    pub fn volume(&self) -> Volume {
        let mut volume = Volume { name: self.volume_name.clone(), ..Volume::default() };
        match &self.location {
            CacheLocation::EmptyDir => volume.empty_dir = Some(EmptyDirVolumeSource::default()),
            CacheLocation::Claim(claim) => {
                volume.persistent_volume_claim =
                    Some(PersistentVolumeClaimVolumeSource { claim_name: claim.clone(), ..Default::default() })
            }
            CacheLocation::HostPath(path) => {
                volume.host_path =
                    Some(HostPathVolumeSource { path: path.clone(), type_: Some("DirectoryOrCreate".into()) })
            }
        }
        volume
    }

    /// The mount of the volume at the cache root.
    pub fn mount(&self) -> VolumeMount {
        VolumeMount { name: self.volume_name.clone(), mount_path: self.location.root(), ..VolumeMount::default() }
    }

    /// The directory a source URI (model or LoRA adapter) is downloaded into: `R/md5hex(uri)`.
    pub fn download_dir(&self, source_uri: &str) -> String {
        format!("{}/{}", self.location.root(), md5_hex(source_uri))
    }
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_the_reference_values() {
        assert_eq!(
            md5_hex("s3://aios_models/deepseek-ai/DeepSeek-V3-W8A8/vllm-ascend"),
            "13a7c4d58031cdc502ca1bb4a592f2b9"
        );
        assert_eq!(
            md5_hex("s3://aios_models/deepseek-ai/DeepSeek-V3-W8A8/vllm-ascend-lora"),
            "11e9a15be1e19ff056520bf67eaeb688"
        );
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn d9_locations_and_roots() {
        let parse = |uri: &str| CacheLocation::parse(Some(uri));
        assert_eq!(CacheLocation::parse(None).map(|l| l.root()), Some("/models-cache".into()));
        assert_eq!(parse("pvc://my-cache"), Some(CacheLocation::Claim("my-cache".into())));
        assert_eq!(parse("pvc://my-cache").map(|l| l.root()), Some("/my-cache".into()));
        assert_eq!(parse("pvc://a.b-c"), Some(CacheLocation::Claim("a.b-c".into())));
        assert_eq!(parse("hostpath:///tmp/test"), Some(CacheLocation::HostPath("/tmp/test".into())));
        assert_eq!(parse("hostpath:///cache/"), Some(CacheLocation::HostPath("/cache".into())));
    }

    #[test]
    fn v41_rejects_what_the_crd_rejects() {
        for uri in [
            "hostpath://tmp/test",
            "hostpath:///",
            "hostpath:///a//b",
            "pvc://a/b",
            "hostPath://x",
            "pvc://",
            "pvc://A",
            "pvc://-a",
            "s3://x",
        ] {
            assert_eq!(CacheLocation::parse(Some(uri)), None, "{uri}");
        }
    }
}
