//! Monthly cost from the `/pricing` catalog (gross EUR, VAT included as the
//! API states it), so `plan` can say what a stack costs before `up` spends it.

use std::fmt;

use super::client::{Call, Hetzner};
use super::error::HetznerError;

/// An amount of money in millionths of the currency unit: exact for the
/// API's decimal strings ("4.5100000000") without floating point.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money {
    pub currency: String,
    pub micros: i64,
}

impl Money {
    /// Parse the API's decimal string.
    pub fn parse(currency: &str, text: &str) -> Option<Money> {
        let text = text.trim();
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let mut micros_frac: i64 = 0;
        for (i, b) in frac.bytes().take(6).enumerate() {
            micros_frac += (b - b'0') as i64 * 10i64.pow(5 - i as u32);
        }
        let micros = whole.checked_mul(1_000_000)?.checked_add(micros_frac)?;
        Some(Money {
            currency: currency.to_string(),
            micros: if neg { -micros } else { micros },
        })
    }

    /// `percent` of this amount, e.g. 20 % for backups.
    pub fn percent(&self, percent: &Money) -> Money {
        // percent.micros / 1e6 is the percentage; amount * pct / 100.
        let v = (self.micros as i128 * percent.micros as i128) / (100 * 1_000_000);
        Money {
            currency: self.currency.clone(),
            micros: v as i64,
        }
    }

    pub fn plus(&self, other: &Money) -> Money {
        Money {
            currency: self.currency.clone(),
            micros: self.micros + other.micros,
        }
    }

    pub fn zero(currency: &str) -> Money {
        Money {
            currency: currency.to_string(),
            micros: 0,
        }
    }
}

impl fmt::Display for Money {
    /// Rounded to cents: "4.51 EUR".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = (self.micros + if self.micros >= 0 { 5_000 } else { -5_000 }) / 10_000;
        let sign = if cents < 0 { "-" } else { "" };
        let cents = cents.abs();
        write!(
            f,
            "{sign}{}.{:02} {}",
            cents / 100,
            cents % 100,
            self.currency
        )
    }
}

/// What one server costs per month, by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyCost {
    pub server: Money,
    /// The backup surcharge (a percentage of the server price).
    pub backups: Option<Money>,
    /// A primary IPv4 address in that location, if requested.
    pub primary_ipv4: Option<Money>,
}

impl MonthlyCost {
    pub fn total(&self) -> Money {
        let mut t = self.server.clone();
        for extra in [&self.backups, &self.primary_ipv4].into_iter().flatten() {
            t = t.plus(extra);
        }
        t
    }
}

impl Hetzner {
    async fn pricing(&self) -> Result<hcloud::models::ListPricesResponsePricing, HetznerError> {
        let call = Call::get("read the /pricing catalog", "/pricing");
        let r: hcloud::models::ListPricesResponse = self.request(&call).await?;
        Ok(*r.pricing)
    }

    /// The server type's gross monthly price in `location`.
    pub async fn price_monthly(
        &self,
        server_type: &str,
        location: &str,
    ) -> Result<Money, HetznerError> {
        Ok(self
            .monthly_cost(server_type, location, false, false)
            .await?
            .server)
    }

    /// The monthly cost with the optional parts priced from the same catalog.
    pub async fn monthly_cost(
        &self,
        server_type: &str,
        location: &str,
        backups: bool,
        ipv4: bool,
    ) -> Result<MonthlyCost, HetznerError> {
        let p = self.pricing().await?;
        cost_from_catalog(&p, server_type, location, backups, ipv4)
    }
}

fn cost_from_catalog(
    p: &hcloud::models::ListPricesResponsePricing,
    server_type: &str,
    location: &str,
    backups: bool,
    ipv4: bool,
) -> Result<MonthlyCost, HetznerError> {
    let not_found = || HetznerError::PriceNotFound {
        server_type: server_type.to_string(),
        location: location.to_string(),
    };
    let server = p
        .server_types
        .iter()
        .find(|t| t.name == server_type)
        .and_then(|t| t.prices.iter().find(|x| x.location == location))
        .and_then(|x| Money::parse(&p.currency, &x.price_monthly.gross))
        .ok_or_else(not_found)?;
    let backups = if backups {
        let pct = Money::parse("%", &p.server_backup.percentage).ok_or_else(not_found)?;
        Some(server.percent(&pct))
    } else {
        None
    };
    let primary_ipv4 = if ipv4 {
        p.primary_ips
            .iter()
            .find(|ip| ip.r#type == hcloud::models::IpType::Ipv4)
            .and_then(|ip| ip.prices.iter().find(|x| x.location == location))
            .and_then(|x| Money::parse(&p.currency, &x.price_monthly.gross))
    } else {
        None
    };
    Ok(MonthlyCost {
        server,
        backups,
        primary_ipv4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_api_decimals_exactly() {
        let m = Money::parse("EUR", "4.5100000000").unwrap();
        assert_eq!(m.micros, 4_510_000);
        assert_eq!(m.to_string(), "4.51 EUR");
        assert_eq!(Money::parse("EUR", "0.0080000000").unwrap().micros, 8_000);
        assert_eq!(Money::parse("EUR", "12").unwrap().micros, 12_000_000);
        assert!(Money::parse("EUR", "abc").is_none());
        assert!(Money::parse("EUR", "1.2x").is_none());
    }

    #[test]
    fn backups_are_a_percentage_of_the_server_price() {
        let server = Money::parse("EUR", "4.51").unwrap();
        let pct = Money::parse("%", "20.00").unwrap();
        assert_eq!(server.percent(&pct).micros, 902_000);
    }

    #[test]
    fn catalog_lookup_by_type_and_location() {
        let p: hcloud::models::ListPricesResponse = serde_json::from_value(serde_json::json!({
          "pricing": {
            "currency": "EUR", "vat_rate": "19.00",
            "floating_ip": {"price_monthly": {"gross": "1", "net": "1"}},
            "floating_ips": [],
            "image": {"price_per_gb_month": {"gross": "1", "net": "1"}},
            "load_balancer_types": [],
            "primary_ips": [{"type": "ipv4", "prices": [{"location": "fsn1",
                "price_hourly": {"gross": "0.0010", "net": "0.0008"},
                "price_monthly": {"gross": "0.6000", "net": "0.5000"}}]}],
            "server_backup": {"percentage": "20.00"},
            "server_types": [{"id": 1, "name": "cx22", "prices": [{"location": "fsn1",
                "included_traffic": 1, "price_hourly": {"gross": "0.0071", "net": "0.006"},
                "price_monthly": {"gross": "4.5100000000", "net": "3.79"},
                "price_per_tb_traffic": {"gross": "1", "net": "1"}}]}],
            "volume": {"price_per_gb_month": {"gross": "1", "net": "1"}}
          }
        }))
        .unwrap();
        let c = cost_from_catalog(&p.pricing, "cx22", "fsn1", true, true).unwrap();
        assert_eq!(c.total().to_string(), "6.01 EUR");
        assert!(matches!(
            cost_from_catalog(&p.pricing, "cx22", "ash", false, false),
            Err(HetznerError::PriceNotFound { .. })
        ));
    }
}
