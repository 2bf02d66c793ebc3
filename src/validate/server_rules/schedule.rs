//! A CronJob's schedule, read as the API server reads it: five fields (minute, hour, day of
//! the month, month, day of the week), or one of the `@` shorthands.

/// Each field's name, lowest and highest value, and the names it takes for its values.
const FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of the month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of the week",
        0,
        6,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

const SHORTHANDS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Why `schedule` is not one the API server takes, if it is not.
pub fn check(schedule: &str) -> Result<(), String> {
    let schedule = schedule.trim();
    // A time zone in the schedule, and `@every`'s durations, are left to the API server.
    if schedule.starts_with("TZ=")
        || schedule.starts_with("CRON_TZ=")
        || schedule.starts_with("@every ")
    {
        return Ok(());
    }
    if schedule.starts_with('@') {
        return match SHORTHANDS.contains(&schedule) {
            true => Ok(()),
            false => Err(format!(
                "the shorthands are {} and `@every <duration>`",
                SHORTHANDS.join(", ")
            )),
        };
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!(
            "it has {} fields; a schedule has 5: minute, hour, day of the month, month, day of the week",
            fields.len()
        ));
    }
    for (field, (name, low, high, names)) in fields.into_iter().zip(FIELDS) {
        for part in field.split(',') {
            range(part, low, high, names).map_err(|problem| format!("its {name}: {problem}"))?;
        }
    }
    Ok(())
}

/// One part of a field's list: `*` or `?`, a value, or a range, each perhaps with a step.
fn range(part: &str, low: u32, high: u32, names: &[&str]) -> Result<(), String> {
    let (span, step) = match part.split_once('/') {
        Some((span, step)) => (span, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(step) if step > 0 => {}
            _ => return Err(format!("`{part}` has no step of 1 or more")),
        }
    }
    if span == "*" || span == "?" {
        return Ok(());
    }
    let (start, end) = match span.split_once('-') {
        Some((start, end)) => (start, Some(end)),
        None => (span, None),
    };
    let start = value(start, low, high, names)?;
    if let Some(end) = end
        && value(end, low, high, names)? < start
    {
        return Err(format!("`{span}` ends before it begins"));
    }
    Ok(())
}

fn value(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = names.iter().position(|name| *name == lower) {
        return Ok(low + index as u32);
    }
    match text.parse::<u32>() {
        Ok(number) if (low..=high).contains(&number) => Ok(number),
        Ok(number) => Err(format!("{number} is not within {low} to {high}")),
        Err(_) => Err(format!(
            "`{}` is not a number",
            crate::diagnostic::truncate(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_the_api_server_takes() {
        for schedule in [
            "*/5 * * * *",
            "0 3 * * 1-5",
            "15,45 0-23/2 1 JAN-jun SUN",
            "5/15 * ? * *",
            "@hourly",
            "@every 1h30m",
            "TZ=Europe/Paris 0 3 * * *",
            " 0 0 1 1 0 ",
        ] {
            assert_eq!(check(schedule), Ok(()), "{schedule}");
        }
    }

    #[test]
    fn schedules_it_refuses_say_why() {
        for (schedule, why) in [
            (
                "every five minutes",
                "it has 3 fields; a schedule has 5: minute, hour, day of the month, month, day of the week",
            ),
            ("* * * * * *", "it has 6 fields; a schedule has 5"),
            ("60 * * * *", "its minute: 60 is not within 0 to 59"),
            ("0 0 0 * *", "its day of the month: 0 is not within 1 to 31"),
            ("0 0 * * 7", "its day of the week: 7 is not within 0 to 6"),
            ("*/0 * * * *", "its minute: `*/0` has no step of 1 or more"),
            ("0 5-2 * * *", "its hour: `5-2` ends before it begins"),
            ("0 0 * FEBR *", "its month: `FEBR` is not a number"),
            ("@weekdays", "the shorthands are @yearly"),
        ] {
            let problem = check(schedule).unwrap_err();
            assert!(problem.starts_with(why), "{schedule}: {problem}");
        }
    }
}
