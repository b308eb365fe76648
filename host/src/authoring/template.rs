//! `flowhost new executor`: a project per language from the templates in
//! `guest-sdk/<lang>/template/`, compiled into the binary so that scaffolding works
//! anywhere. Each project has the executor, a flow file that serves it and a `test.sh`
//! that builds it, calls it once and checks the answer.

use std::path::{Path, PathBuf};

use super::{AuthoringError, Home, Language, io_error};

/// One file of a template: its path in the new project and its text, with `{{name}}`,
/// `{{Class}}` and `{{sdk}}` still to fill in.
struct TemplateFile {
    path: &'static str,
    text: &'static str,
}

macro_rules! template {
    ($lang:literal: $($path:literal),+ $(,)?) => {
        &[$(TemplateFile {
            path: $path,
            text: include_str!(concat!("../../../guest-sdk/", $lang, "/template/", $path)),
        }),+]
    };
}

fn files(language: Language) -> &'static [TemplateFile] {
    match language {
        Language::Rust => template!("rust":
            "Cargo.toml", "src/lib.rs", "flow.yml", "test.sh", "README.md"),
        Language::Python => template!("python":
            "executor.py", "config.yml", "flow.yml", "test.sh", "README.md"),
        Language::JavaScript => template!("js":
            "executor.js", "package.json", "flow.yml", "test.sh", "README.md"),
        Language::Go => template!("go":
            "main.go", "go.mod", "flow.yml", "test.sh", "README.md"),
        Language::C => template!("c":
            "executor.c", "flow.yml", "test.sh", "README.md"),
    }
}

/// `my-exec` → `MyExec`: the class or type name the templates use.
fn class_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A name every language accepts as a package, module and file name.
fn check_name(name: &str) -> Result<(), AuthoringError> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if starts_well && rest_ok && !name.ends_with('-') && name.len() <= 64 {
        Ok(())
    } else {
        Err(AuthoringError::BadName(name.to_owned()))
    }
}

/// Writes a new `language` project called `name` into `parent/name`; returns its path.
pub fn scaffold(
    home: &Home,
    language: Language,
    name: &str,
    parent: &Path,
) -> Result<PathBuf, AuthoringError> {
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        return Err(AuthoringError::Exists(dir));
    }
    let class = class_name(name);
    let sdk = home.sdk(language);
    let sdk = sdk.to_string_lossy();
    for file in files(language) {
        let path = dir.join(file.path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io_error(folder))?;
        }
        let text = file
            .text
            .replace("{{name}}", name)
            .replace("{{Class}}", &class)
            .replace("{{sdk}}", &sdk);
        std::fs::write(&path, text).map_err(io_error(&path))?;
        if file.path.ends_with(".sh") {
            make_executable(&path)?;
        }
    }
    Ok(dir)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), AuthoringError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io_error(path))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), AuthoringError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_camel_case() {
        assert_eq!(class_name("my-exec"), "MyExec");
        assert_eq!(class_name("tagger2"), "Tagger2");
    }

    #[test]
    fn names_that_some_language_cannot_take_are_refused() {
        for bad in ["", "My", "9lives", "a b", "x-", "über", "a_b"] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        check_name("my-exec2").expect("accepted");
    }

    #[test]
    fn every_language_scaffolds_with_no_placeholder_left() {
        let parent = tempfile::tempdir().expect("temp dir");
        let home = Home::at("/opt/flowhost");
        for language in Language::ALL {
            let dir = scaffold(
                &home,
                language,
                &format!("demo-{}", language.key()),
                parent.path(),
            )
            .expect("scaffolds");
            for file in files(language) {
                let text = std::fs::read_to_string(dir.join(file.path)).expect("written");
                assert!(
                    !text.contains("{{name}}") && !text.contains("{{Class}}"),
                    "{}",
                    file.path
                );
            }
            assert!(dir.join("flow.yml").is_file() && dir.join("test.sh").is_file());
        }
        let again = scaffold(&home, Language::C, "demo-c", parent.path());
        assert!(matches!(again, Err(AuthoringError::Exists(_))));
    }
}
