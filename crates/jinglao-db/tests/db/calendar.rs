//! The working-day calendar against real databases: the shipped years are there after
//! migrating, an administrator replaces a year as a whole (audited) and a later migration does
//! not put the shipped one back; nobody else may.

use chrono::{NaiveDate, Utc};
use jinglao_db::audit::ChainKey;
use jinglao_db::testing::TestDb;
use jinglao_db::{Actor, DbError, calendar, test_on_both};
use jinglao_domain::calendar::YearCalendar;
use jinglao_domain::{RegionCode, Role, Scope};
use uuid::Uuid;

const CHAIN: ChainKey = ChainKey([8; 32]);

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

test_on_both! {
    async fn the_shipped_years_count_holidays_and_an_administrator_replaces_a_year_whole(t: TestDb) {
        let mut c = t.db.acquire().await.unwrap();
        let cal = calendar::load(&mut c.conn()).await.unwrap();
        assert!(!cal.is_working_day(d("2026-10-05")) && cal.is_working_day(d("2026-10-10")));
        assert_eq!(calendar::years(&mut c.conn()).await.unwrap().iter().map(|y| y.year).collect::<Vec<_>>(), vec![2026, 2025]);
        drop(c);
        // A city clerk may not change national data; the administrator may.
        let text = "# 测试通知\ndate,kind,name\n2026-10-01,holiday,国庆节\n";
        let y = YearCalendar::parse(2026, text).unwrap();
        let city = Actor::user(Uuid::now_v7(), "city", Role::CityStaff, Scope::Region(RegionCode::parse("4303").unwrap()), RegionCode::parse("4303").unwrap());
        let err = calendar::replace_year(&t.db, &CHAIN, &city, &y, Utc::now()).await.unwrap_err();
        assert!(matches!(err, DbError::Forbidden(_)), "{err:?}");
        let admin = Actor::user(Uuid::now_v7(), "admin", Role::Admin, Scope::All, RegionCode::parse("4303").unwrap());
        calendar::replace_year(&t.db, &CHAIN, &admin, &y, Utc::now()).await.unwrap();
        // Migrating again leaves the replacement alone.
        jinglao_db::migrate::run(&t.db).await.unwrap();
        let mut c = t.db.acquire().await.unwrap();
        let cal = calendar::load(&mut c.conn()).await.unwrap();
        assert!(cal.is_working_day(d("2026-10-05")), "the replaced year lists only 1 October");
        assert_eq!(calendar::days(&mut c.conn(), 2026).await.unwrap().len(), 1);
        // The trail says which days went and came, not only how many.
        let detail: String = jinglao_db::on_conn!(&mut c.conn(), |c| sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'calendar.replace'").fetch_one(&mut *c).await).unwrap();
        assert!(detail.contains("2026-10-05 放假 国庆节") && detail.contains("\"added\":[]"), "{detail}");
        let years = calendar::years(&mut c.conn()).await.unwrap();
        assert_eq!((years[0].source.as_str(), years[0].loaded_by.as_str()), ("测试通知", "admin"));
    }
}
