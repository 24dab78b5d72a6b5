//! Recurring plans and family care beds over the API, as a provider's own system would use
//! them: a plan books its days ahead and ends with its orders; a bed is refused under the local
//! rule with the reason, set up once the rule allows it, adapted, equipped, listed and ended.

use jinglao_db::test_on_both;
use jinglao_domain::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::visits::{ITEM, with, world};

test_on_both! {
    async fn a_providers_system_keeps_a_weekly_plan_over_the_api(app: TestApp) {
        let (elder, _) = world(&app).await;
        app.create_user("provider_q", Role::ProviderAdmin, "430302").await;
        let p = app.token("provider_q").await;
        let today = app.state.today();
        let plan = json!({ "elder_id": elder, "item_code": ITEM, "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "start_time": "09:00", "minutes": 60, "start_on": (today + chrono::Duration::days(1)).to_string() });

        // Bad fields are named: a weekday that does not exist, a time that is not HH:MM.
        let (s, e) = app.api_post(&p, "/api/v1/plans", with(plan.clone(), json!({ "weekdays": [8] }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("weekdays")), "{e}");
        let (s, e) = app.api_post(&p, "/api/v1/plans", with(plan.clone(), json!({ "start_time": "九点" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("start_time")), "{e}");
        let (s, e) = app.api_post(&p, "/api/v1/plans", with(plan.clone(), json!({ "start_on": "2020-01-01" }))).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("start_on")), "{e}");

        // A daily plan books the days ahead; those the quota refuses come back with why.
        let (s, created) = app.api_post(&p, "/api/v1/plans", plan.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let booked = created["booked"].as_array().unwrap().len();
        assert!(booked > 0, "{created}");
        let skipped = created["skipped"].as_array().unwrap();
        assert!(skipped.iter().all(|d| !d["reason"].as_str().unwrap().is_empty()), "{created}");
        let plan_id = created["plan_id"].as_str().unwrap().to_string();
        let (_, orders) = app.api_get(&p, &format!("/api/v1/orders?elder_id={elder}&status=booked")).await;
        assert_eq!(orders["items"].as_array().unwrap().len(), booked);

        // Listed, with the schedule in words; a bad status filter is named.
        let (s, list) = app.api_get(&p, &format!("/api/v1/plans?elder_id={elder}")).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["items"][0]["id"].as_str(), Some(plan_id.as_str()));
        assert_eq!(list["items"][0]["weekdays"], json!([1, 2, 3, 4, 5, 6, 7]));
        assert!(list["items"][0]["schedule"].as_str().unwrap().contains("每天 09:00"), "{list}");
        let (s, e) = app.api_get(&p, "/api/v1/plans?status=paused").await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")), "{e}");

        // Outside the caller's reach: a village worker elsewhere sees no plan and ends none.
        app.create_user("village_far", Role::VillageStaff, "430302002001").await;
        let far = app.token("village_far").await;
        let (_, none) = app.api_get(&far, "/api/v1/plans").await;
        assert!(none["items"].as_array().unwrap().is_empty(), "{none}");
        let (s, _) = app.api_post(&far, &format!("/api/v1/plans/{plan_id}/end"), json!({ "reason": "误操作" })).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Ending needs a reason; it cancels the booked days with it.
        let (s, e) = app.api_post(&p, &format!("/api/v1/plans/{plan_id}/end"), json!({ "reason": " " })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{e}");
        let (s, ended) = app.api_post(&p, &format!("/api/v1/plans/{plan_id}/end"), json!({ "reason": "老人住院" })).await;
        assert_eq!(s, StatusCode::OK, "{ended}");
        assert_eq!(ended["orders_cancelled"].as_u64(), Some(booked as u64));
        let (_, list) = app.api_get(&p, "/api/v1/plans?status=ended").await;
        assert_eq!(list["items"][0]["status_label"], "已终止");
    }
}

test_on_both! {
    async fn a_family_bed_is_set_up_equipped_listed_and_ended_over_the_api(app: TestApp) {
        let (elder, _) = world(&app).await;
        app.create_user("county_q", Role::CountyStaff, "430302").await;
        let county = app.token("county_q").await;
        let today = app.state.today().to_string();
        let provider = app.provider_id.to_string();
        let bed = json!({ "elder_id": elder, "provider_id": provider, "contract_no": "JTCW-API-1",
            "item_code": ITEM, "start_on": today, "assessed_on": today, "assessor": "刘评估",
            "assessment": "卫生间需加装扶手" });

        // Seventy and not assessed: refused on the person, saying why.
        app.db.tamper(&format!("UPDATE elders SET birth_date = '{}'", app.state.today() - chrono::Duration::days(70 * 365 + 30))).await;
        let (s, e) = app.api_post(&county, "/api/v1/family-beds", bed.clone()).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("elder_id")), "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("不符合本地家庭养老床位条件"), "{e}");
        // A provider, who does not hold the person's record, is told only the possible reasons
        // (the refusal and its real reason are audited).
        app.create_user("provider_r", Role::ProviderAdmin, "430302").await;
        let p = app.token("provider_r").await;
        let (s, e) = app.api_post(&p, "/api/v1/family-beds", bed.clone()).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("elder_id")), "{e}");
        let told = e["error"]["message"].as_str().unwrap();
        assert!(told.contains("可能") && !told.contains("✗") && !told.contains("高龄"), "{e}");
        assert_eq!(app.audit_count("family_bed.create_refused").await, 2);
        jinglao_db::policy::set(&jinglao_db::WriteCtx::new(&app.state.db, &app.state.keys.audit_chain, &jinglao_db::Actor::cli(), chrono::Utc::now()), jinglao_domain::RegionCode::parse("430302").unwrap(), jinglao_domain::policy::PolicyKey::FamilyBedRule, "age >= 65", "雨湖区民政局 2026 年第 3 号通知").await.unwrap();
        let (s, created) = app.api_post(&county, "/api/v1/family-beds", bed.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let bed_id = created["bed_id"].as_str().unwrap().to_string();

        // The provider records an adaptation and a device; bad input is named.
        let (s, e) = app.api_post(&p, &format!("/api/v1/family-beds/{bed_id}/adaptations"), json!({ "item": "jacuzzi", "done_on": today })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("item")), "{e}");
        let (s, _) = app.api_post(&p, &format!("/api/v1/family-beds/{bed_id}/adaptations"), json!({ "item": "grab_bars", "done_on": today })).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = app.api_post(&p, &format!("/api/v1/family-beds/{bed_id}/devices"), json!({ "kind": "smoke", "serial_no": "YG-API-1", "installed_on": today })).await;
        assert_eq!(s, StatusCode::OK);
        let (s, e) = app.api_post(&p, &format!("/api/v1/family-beds/{bed_id}/devices"), json!({ "kind": "smoke", "serial_no": "YG-API-1", "installed_on": today })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("serial_no")), "{e}");

        // The person's beds and the list show it with the month's visits against the minimum.
        let (s, mine) = app.api_get(&p, &format!("/api/v1/elders/{elder}/family-beds")).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        let b = &mine["beds"][0];
        assert_eq!((b["contract_no"].as_str(), b["visits_done"].as_i64(), b["visits_minimum"].as_i64()), (Some("JTCW-API-1"), Some(0), Some(4)), "{mine}");
        assert_eq!(b["adaptations"][0]["label"], "卫生间、床边扶手");
        assert_eq!(b["devices"][0]["serial_no"], "YG-API-1");
        let (_, list) = app.api_get(&county, "/api/v1/family-beds?limit=1").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert!(list["next_cursor"].is_null());
        let (s, e) = app.api_get(&county, "/api/v1/family-beds?month=2026-13").await;
        assert_eq!((s, e["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("month")), "{e}");

        // A village worker elsewhere finds neither the person's beds nor the bed.
        app.create_user("village_far", Role::VillageStaff, "430302002001").await;
        let far = app.token("village_far").await;
        let (s, _) = app.api_get(&far, &format!("/api/v1/elders/{elder}/family-beds")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = app.api_post(&far, &format!("/api/v1/family-beds/{bed_id}/end"), json!({ "reason": "误操作" })).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Ending it takes it off the list.
        let (s, _) = app.api_post(&county, &format!("/api/v1/family-beds/{bed_id}/end"), json!({ "reason": "老人入住养老机构" })).await;
        assert_eq!(s, StatusCode::OK);
        let (_, list) = app.api_get(&county, "/api/v1/family-beds").await;
        assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
        assert_eq!(app.audit_count("family_bed.end").await, 1);
    }
}
