//! The offline commands: `render`, `validate`, `crds` (spec §5.1). Output on stdout, diagnostics on stderr.

use std::path::Path;
use std::process::ExitCode;

use booster_api::ModelBooster;
use booster_render::{Child, Settings};

use crate::input::{self, InputError, ZERO_UID};

/// Exit status of invalid input (validation or render errors).
const INVALID: u8 = 1;
/// Exit status of unreadable or unparsable input.
const UNREADABLE: u8 = 2;

pub fn validate(file: &Path) -> ExitCode {
    let boosters = match input::read(file) {
        Ok(boosters) => boosters,
        Err(error) => return unreadable(error),
    };
    let mut all_valid = true;
    for booster in &boosters {
        match booster_render::validate(booster) {
            Ok(()) => println!("{}: valid", input::display_name(booster)),
            Err(errors) => {
                all_valid = false;
                eprintln!("{}: {errors}", input::display_name(booster));
            }
        }
    }
    if all_valid { ExitCode::SUCCESS } else { ExitCode::from(INVALID) }
}

pub fn render(file: &Path, json: bool, validate_first: bool, settings: &Settings) -> ExitCode {
    let mut boosters = match input::read(file) {
        Ok(boosters) => boosters,
        Err(error) => return unreadable(error),
    };
    if validate_first {
        let invalid: Vec<String> = boosters
            .iter()
            .filter_map(|b| booster_render::validate(b).err().map(|e| format!("{}: {e}", input::display_name(b))))
            .collect();
        if !invalid.is_empty() {
            invalid.iter().for_each(|message| eprintln!("{message}"));
            return ExitCode::from(INVALID);
        }
    }
    let mut children = Vec::new();
    for booster in &mut boosters {
        complete_metadata(booster);
        match booster_render::render(booster, settings) {
            Ok(rendered) => children.extend(rendered.into_vec()),
            Err(error) => {
                eprintln!("{}: {error}", input::display_name(booster));
                return ExitCode::from(INVALID);
            }
        }
    }
    match print(&children, json) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("serializing the children: {error}");
            ExitCode::from(INVALID)
        }
    }
}

pub fn crds(all: bool) -> ExitCode {
    let crds = if all { booster_api::crds::all() } else { vec![booster_api::crds::model_booster()] };
    let documents: Vec<String> = crds.iter().map(booster_api::crds::to_yaml).collect();
    print!("{}", documents.join("---\n"));
    ExitCode::SUCCESS
}

/// A document without namespace renders into `default`; one without uid uses the zero uid, with a warning.
fn complete_metadata(booster: &mut ModelBooster) {
    booster.metadata.namespace.get_or_insert_with(|| "default".into());
    if booster.metadata.uid.as_deref().is_none_or(str::is_empty) {
        eprintln!("warning: {} has no metadata.uid; owner references use {ZERO_UID}", input::display_name(booster));
        booster.metadata.uid = Some(ZERO_UID.into());
    }
}

fn print(children: &[Child], json: bool) -> Result<String, String> {
    if json {
        let values = children.iter().map(Child::to_value).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        return serde_json::to_string_pretty(&values).map(|text| text + "\n").map_err(|e| e.to_string());
    }
    let documents =
        children.iter().map(serde_yaml::to_string).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    Ok(documents.join("---\n"))
}

fn unreadable(error: InputError) -> ExitCode {
    eprintln!("error: {}", error.0);
    ExitCode::from(UNREADABLE)
}
