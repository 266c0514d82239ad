use super::*;

#[derive(Debug, Deserialize)]
struct List {
    ports: Vec<PortRange>,
}

fn read(toml_list: &str) -> Result<Vec<PortRange>, String> {
    toml::from_str::<List>(&format!("ports = {toml_list}"))
        .map(|l| l.ports)
        .map_err(|e| e.message().to_string())
}

#[test]
fn integers_and_ranges_sit_side_by_side() {
    let list = read(r#"[443, "8000-8100", "9443", "1-1"]"#).expect("list");
    assert_eq!(list.len(), 4);
    for port in [443, 8000, 8050, 8100, 9443, 1] {
        assert!(any_contains(&list, port), "{port}");
    }
    for port in [0, 442, 444, 7999, 8101, 9442, 65535] {
        assert!(!any_contains(&list, port), "{port}");
    }
    let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["443", "8000-8100", "9443", "1"]);
    assert_eq!(
        read(r#"["1-65535"]"#).expect("all")[0].to_string(),
        "1-65535"
    );
}

#[test]
fn bad_entries_are_refused_naming_the_entry() {
    for (list, want) in [
        ("[0]", "port 0 is not a destination"),
        (r#"["0-10"]"#, "port 0 is not a destination"),
        ("[65536]", "65536 is not a port"),
        ("[-1]", "-1 is not a port"),
        (r#"["70000"]"#, "70000 is not a port"),
        (r#"["99999999999999999999"]"#, "is not a port"),
        (r#"["9100-9000"]"#, "the range 9100-9000 is reversed"),
        (r#"["9000-"]"#, "\"9000-\" is not a port or a range"),
        (r#"["-9000"]"#, "\"-9000\" is not a port or a range"),
        (r#"["9000 - 9100"]"#, "is not a port or a range"),
        (r#"["9000-9100-9200"]"#, "is not a port or a range"),
        (r#"["+443"]"#, "is not a port or a range"),
        (r#"["https"]"#, "is not a port or a range"),
        (r#"[""]"#, "is not a port or a range"),
        ("[true]", "a port (8443) or a range"),
        ("[4.5]", "a port (8443) or a range"),
    ] {
        match read(list) {
            Ok(l) => panic!("{list}: read as {l:?}"),
            Err(e) => assert!(e.contains(want), "{list}: {e}"),
        }
    }
}

#[test]
fn ranges_are_checked_when_built_in_code_too() {
    assert_eq!(
        PortRange::new(9100, 9000),
        Err(PortError::Reversed(9100, 9000))
    );
    assert_eq!(PortRange::single(0), Err(PortError::Zero));
    let r = PortRange::new(8000, 8100).expect("range");
    assert!(r.contains(8000) && r.contains(8100) && !r.contains(8101));
}
