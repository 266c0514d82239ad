use super::*;

#[test]
fn parses_each_unit() {
    let q = Quota::parse("10/s", 5).expect("valid quota");
    assert_eq!(
        (q.count(), q.period(), q.burst()),
        (10, Duration::from_secs(1), 5)
    );
    assert_eq!(q.emission_interval(), Duration::from_millis(100));
    assert_eq!(q.tolerance(), Duration::from_millis(500));
    let q = Quota::parse("600/m", 1).expect("valid quota");
    assert_eq!(q.emission_interval(), Duration::from_millis(100));
    let q = Quota::parse("5/h", 2).expect("valid quota");
    assert_eq!(q.emission_interval(), Duration::from_secs(720));
}

#[test]
fn refuses_other_forms() {
    for bad in [
        "",
        "10",
        "/s",
        "10/",
        "10/sec",
        "10/S",
        "10/d",
        " 10/s",
        "10/s ",
        "10 /s",
        "+10/s",
        "-1/s",
        "1.5/s",
        "10/2s",
        "10//s",
        "4294967296/s",
        "ten/s",
    ] {
        assert!(
            matches!(Quota::parse(bad, 1), Err(QuotaError::InvalidRate { .. })),
            "{bad:?} was accepted"
        );
    }
    assert_eq!(Quota::parse("0/s", 1), Err(QuotaError::ZeroCount));
    assert_eq!(Quota::parse("1/s", 0), Err(QuotaError::ZeroBurst));
}

#[test]
fn new_refuses_zero_and_overflow() {
    let s = Duration::from_secs(1);
    assert_eq!(Quota::new(0, s, 1), Err(QuotaError::ZeroCount));
    assert_eq!(
        Quota::new(1, Duration::ZERO, 1),
        Err(QuotaError::ZeroPeriod)
    );
    assert_eq!(Quota::new(1, s, 0), Err(QuotaError::ZeroBurst));
    assert_eq!(Quota::new(1, Duration::MAX, 1), Err(QuotaError::TooLong));
    let year = Duration::from_secs(365 * 86_400);
    assert_eq!(Quota::new(1, year, u32::MAX), Err(QuotaError::TooLong));
}

#[test]
fn interval_rounds_up_to_at_least_one_nanosecond() {
    let q = Quota::new(u32::MAX, Duration::from_secs(1), 1).expect("valid quota");
    assert_eq!(q.emission_interval(), Duration::from_nanos(1));
    let q = Quota::new(3, Duration::from_secs(1), 1).expect("valid quota");
    assert_eq!(q.emission_interval(), Duration::from_nanos(333_333_334));
}

#[test]
fn deserialises_config_form() {
    let q: Quota = serde_json::from_str(r#"{"rate":"100/s","burst":20}"#).expect("valid config");
    assert_eq!(q, Quota::parse("100/s", 20).expect("valid quota"));
    for bad in [
        r#"{"rate":"100/s"}"#,
        r#"{"rate":"100/x","burst":1}"#,
        r#"{"rate":"100/s","burst":1,"extra":true}"#,
    ] {
        assert!(serde_json::from_str::<Quota>(bad).is_err(), "{bad}");
    }
}
