//! D-15: the revision test vectors of the spec and the revision's sensitivity.

mod common;

use booster_render::{Child, Settings, render};
use common::{reference_dir, strict_model_booster};

fn revision(child: &Child) -> String {
    child.to_value().expect("JSON")["metadata"]["labels"]["workload.serving.volcano.sh/revision"]
        .as_str()
        .expect("revision label")
        .to_owned()
}

#[test]
fn spec_test_vectors_of_input_model() {
    let text = std::fs::read_to_string(reference_dir().join("convert/input/model.yaml")).expect("input");
    let children = render(&strict_model_booster(&text), &Settings::default()).expect("renders").into_vec();
    let find = |kind: &str| children.iter().find(|c| c.kind() == kind).expect("child of kind");
    assert_eq!(revision(find("ModelServer")), "35df659ba8");
    assert_eq!(revision(find("ModelRoute")), "5e7a1488cd");
    assert_eq!(revision(find("AutoscalingPolicy")), "d441cbf836");
}
