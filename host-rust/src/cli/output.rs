//! Writing to the terminal without panicking (`println!` panics on a closed
//! pipe, as in `tessera snapshot inspect x | head`), and the small
//! formatters the subcommands share.

use std::io::Write;
use tessera_core::ErrorCode;

use super::CliError;

/// Writes `text` and a newline to stdout. A closed pipe is not an error:
/// the reader has what it wanted.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(CliError::new(ErrorCode::Io, format!("stdout: {err}"))),
    }
}

/// Writes `text` and a newline to stderr, best effort (progress and notes).
pub(crate) fn note(text: &str) {
    let mut stderr = std::io::stderr().lock();
    // Nowhere left to report a failure to write to stderr.
    let _ = writeln!(stderr, "{text}");
}

/// A database URL with its password masked, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (UTC), or the bare number when
/// it is past what that form can say.
pub(crate) fn rfc3339(unix: u64) -> String {
    let Ok(seconds) = i64::try_from(unix) else {
        return unix.to_string();
    };
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a
    // day count from 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(u64::MAX), u64::MAX.to_string());
    }

    #[test]
    fn redaction_masks_only_the_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/tessera?sslmode=require"),
            "postgres://app:***@db:5432/tessera?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@db/tessera"),
            "postgres://app@db/tessera"
        );
        assert_eq!(
            redact_url("sqlite://./tessera-data/tessera.db?mode=rwc"),
            "sqlite://./tessera-data/tessera.db?mode=rwc"
        );
    }
}
