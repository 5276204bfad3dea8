//! The ERP outbox and the calculation export on both backends: a fresh SQLite file and a
//! fresh database on the PostgreSQL server named by THERMALIQ_TEST_POSTGRES_URL.

mod pg;
mod suite;

use std::collections::HashSet;

use store::{
    CalculationFilter, CalculationStatus, MigrateDownTarget, OutboxOutcome, OutboxStats, Store,
};
use suite::{T0_US, completed, facility, failed};

const S: i64 = 1_000_000;

async fn fresh_sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_in_dir(dir.path()).await.expect("open");
    store.migrate_up(None).await.expect("migrate");
    (dir, store)
}

/// One test per backend for each behaviour.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_guard, store) = crate::fresh_sqlite().await;
                    crate::$name(&store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_guard, store) = crate::pg::fresh_pg().await;
                    crate::$name(&store).await;
                }
            )*
        }
    };
}

both!(
    completed_calculations_are_queued_with_their_insert,
    claims_lease_count_attempts_and_back_off,
    a_permanent_failure_stops_retries_and_shows_in_the_stats,
    delivered_rows_are_pruned_after_the_retention_only,
    concurrent_workers_never_claim_one_row_twice,
    export_pages_whole_records_oldest_first,
    the_migration_goes_down_and_up_leaving_calculations,
);

async fn completed_calculations_are_queued_with_their_insert(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let done = completed("FAC-1", &["B-1"], T0_US);
    store.insert_calculation(&done).await.unwrap();
    let entry = store.outbox_entry(&done.id).await.unwrap().expect("queued");
    assert_eq!(entry.attempts, 0);
    assert_eq!(entry.created_at_us, T0_US);
    assert_eq!(entry.next_attempt_at_us, T0_US);
    assert_eq!(
        (entry.delivered_at_us, entry.failed_at_us, entry.last_error),
        (None, None, None)
    );

    // A failed calculation has nothing for the ERP.
    let bad = failed("FAC-1", T0_US + S);
    store.insert_calculation(&bad).await.unwrap();
    assert_eq!(store.outbox_entry(&bad.id).await.unwrap(), None);

    // A calculation refused half-way (its second equipment row conflicts) leaves no row in
    // either table: the outbox row is part of the same transaction.
    let refused = completed("FAC-1", &["B-1", "B-1"], T0_US + 2 * S);
    assert!(store.insert_calculation(&refused).await.is_err());
    assert_eq!(store.calculation(&refused.id).await.unwrap(), None);
    assert_eq!(store.outbox_entry(&refused.id).await.unwrap(), None);

    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 1,
            failed: 0,
            oldest_pending_created_at_us: Some(T0_US),
            last_delivered_at_us: None,
            last_error: None,
        }
    );
}

async fn claims_lease_count_attempts_and_back_off(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let older = completed("FAC-1", &[], T0_US);
    let newer = completed("FAC-1", &[], T0_US + S);
    store.insert_calculation(&newer).await.unwrap();
    store.insert_calculation(&older).await.unwrap();
    // Not due before the calculation existed.
    assert_eq!(
        store.claim_outbox(T0_US - 1, T0_US + 60 * S).await.unwrap(),
        None
    );

    let now = T0_US + 10 * S;
    let first = store
        .claim_outbox(now, now + 30 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.calculation_id.as_str(), first.attempt),
        (older.id.as_str(), 1)
    );
    // The second worker's lease is long: it is still delivering throughout.
    let second = store
        .claim_outbox(now, now + 3_600 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.calculation_id, newer.id);
    // Both are leased now.
    assert_eq!(
        store.claim_outbox(now + S, now + 30 * S).await.unwrap(),
        None
    );

    // The lease of the first runs out (its worker died): another worker takes it over.
    let later = now + 31 * S;
    let taken_over = store
        .claim_outbox(later, later + 30 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken_over.calculation_id, older.id);
    assert_eq!(taken_over.attempt, 2);
    assert_ne!(taken_over.claim_token, first.claim_token);
    // The first worker's late verdict is not recorded over the second's claim.
    let retry = |at: i64| OutboxOutcome::Retry {
        error: "HTTP 503".into(),
        next_attempt_at_us: at,
    };
    assert!(
        !store
            .finish_outbox(&first, &retry(later), later)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_outbox(&taken_over, &retry(later + 4 * S), later)
            .await
            .unwrap()
    );
    let entry = store.outbox_entry(&older.id).await.unwrap().unwrap();
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.next_attempt_at_us, later + 4 * S);
    assert_eq!(entry.last_attempt_at_us, Some(later));
    assert_eq!(entry.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        store.outbox_stats().await.unwrap().last_error.as_deref(),
        Some("HTTP 503")
    );

    // Backed off: not due until next_attempt_at_us, then claimed for the third time.
    assert_eq!(
        store
            .claim_outbox(later + 3 * S, later + 60 * S)
            .await
            .unwrap(),
        None
    );
    let third = store
        .claim_outbox(later + 4 * S, later + 60 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (third.calculation_id.as_str(), third.attempt),
        (older.id.as_str(), 3)
    );
    assert!(
        store
            .finish_outbox(&third, &OutboxOutcome::Delivered, later + 5 * S)
            .await
            .unwrap()
    );
    let entry = store.outbox_entry(&older.id).await.unwrap().unwrap();
    assert_eq!(entry.delivered_at_us, Some(later + 5 * S));
    assert_eq!(entry.last_error, None);
    // The long-running second worker delivers too.
    assert!(
        store
            .finish_outbox(&second, &OutboxOutcome::Delivered, later + 6 * S)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .claim_outbox(later + 600 * S, later + 700 * S)
            .await
            .unwrap(),
        None
    );
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 0));
    assert_eq!(stats.last_delivered_at_us, Some(later + 6 * S));
    assert_eq!(stats.oldest_pending_created_at_us, None);
}

async fn a_permanent_failure_stops_retries_and_shows_in_the_stats(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let rejected = completed("FAC-1", &[], T0_US);
    let waiting = completed("FAC-1", &[], T0_US + S);
    store.insert_calculation(&rejected).await.unwrap();
    store.insert_calculation(&waiting).await.unwrap();
    let now = T0_US + 10 * S;
    let claim = store
        .claim_outbox(now, now + 30 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.calculation_id, rejected.id);
    let outcome = OutboxOutcome::Failed {
        error: "HTTP 422: unknown facility".into(),
    };
    assert!(store.finish_outbox(&claim, &outcome, now).await.unwrap());
    let entry = store.outbox_entry(&rejected.id).await.unwrap().unwrap();
    assert_eq!(entry.failed_at_us, Some(now));
    assert_eq!(
        store.outbox_stats().await.unwrap(),
        OutboxStats {
            pending: 1,
            failed: 1,
            oldest_pending_created_at_us: Some(T0_US + S),
            last_delivered_at_us: None,
            last_error: Some("HTTP 422: unknown facility".into()),
        }
    );
    // Only the other row is ever claimed again, however late.
    let next = store
        .claim_outbox(now + 86_400 * S, now + 86_500 * S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.calculation_id, waiting.id);
    assert_eq!(
        store
            .claim_outbox(now + 86_400 * S, now + 86_500 * S)
            .await
            .unwrap(),
        None
    );
}

async fn delivered_rows_are_pruned_after_the_retention_only(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for k in 0..3 {
        let c = completed("FAC-1", &[], T0_US + k * S);
        store.insert_calculation(&c).await.unwrap();
        ids.push(c.id);
    }
    // The first two are delivered at T0+100 s and T0+200 s; the third stays pending.
    for (k, at) in [(0, 100), (1, 200)] {
        let now = T0_US + at * S;
        let claim = store.claim_outbox(now, now + S).await.unwrap().unwrap();
        assert_eq!(claim.calculation_id, ids[k]);
        store
            .finish_outbox(&claim, &OutboxOutcome::Delivered, now)
            .await
            .unwrap();
    }
    assert_eq!(store.prune_outbox(T0_US + 100 * S).await.unwrap(), 0);
    assert_eq!(store.prune_outbox(T0_US + 150 * S).await.unwrap(), 1);
    assert_eq!(store.outbox_entry(&ids[0]).await.unwrap(), None);
    assert!(store.outbox_entry(&ids[1]).await.unwrap().is_some());
    // Far in the future: every delivered row goes, the pending one stays.
    assert_eq!(store.prune_outbox(i64::MAX).await.unwrap(), 1);
    assert!(store.outbox_entry(&ids[2]).await.unwrap().is_some());
    // The calculations themselves are kept.
    assert!(store.calculation(&ids[0]).await.unwrap().is_some());
    assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
}

async fn concurrent_workers_never_claim_one_row_twice(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let mut expected = HashSet::new();
    for k in 0..40 {
        let c = completed("FAC-1", &[], T0_US + k);
        store.insert_calculation(&c).await.unwrap();
        expected.insert(c.id);
    }
    let now = T0_US + 60 * S;
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(claim) = store.claim_outbox(now, now + 60 * S).await.unwrap() {
                    mine.push(claim.calculation_id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for w in workers {
        claimed.extend(w.await.unwrap());
    }
    let distinct: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 40, "a row was claimed twice: {claimed:?}");
    assert_eq!(distinct, expected);
}

async fn export_pages_whole_records_oldest_first(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1", "B-2"]))
        .await
        .unwrap();
    store
        .put_facility(&facility("FAC-2", &["C-1"]))
        .await
        .unwrap();
    let mut fac1 = Vec::new();
    for k in 0..5 {
        let c = completed("FAC-1", &["B-2", "B-1"], T0_US + k * S);
        store.insert_calculation(&c).await.unwrap();
        fac1.push(c);
    }
    let f = failed("FAC-1", T0_US + 10 * S);
    store.insert_calculation(&f).await.unwrap();
    let other = completed("FAC-2", &["C-1"], T0_US + 2 * S);
    store.insert_calculation(&other).await.unwrap();

    let mut filter = CalculationFilter {
        facility_id: Some("FAC-1".into()),
        status: Some(CalculationStatus::Completed),
        limit: Some(2),
        ..CalculationFilter::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.export_calculations(&filter).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => filter.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen, fac1,
        "whole records, equipment in position order, oldest first"
    );

    let all = store
        .export_calculations(&CalculationFilter {
            limit: Some(100),
            ..CalculationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 7);
    assert_eq!(all.next_cursor, None);
    assert_eq!(all.items[6], f);
    // Periods overlapping [from, to), as the listing filters.
    let outside = store
        .export_calculations(&CalculationFilter {
            period_from_us: Some(T0_US + 3_600 * S),
            ..CalculationFilter::default()
        })
        .await
        .unwrap();
    assert!(outside.items.is_empty());
    let refused = store
        .export_calculations(&CalculationFilter {
            limit: Some(0),
            ..CalculationFilter::default()
        })
        .await;
    assert!(
        matches!(&refused, Err(store::Error::Constraint { field, .. }) if field == "limit"),
        "{refused:?}"
    );
}

async fn the_migration_goes_down_and_up_leaving_calculations(store: &Store) {
    store
        .put_facility(&facility("FAC-1", &["B-1"]))
        .await
        .unwrap();
    let before = completed("FAC-1", &["B-1"], T0_US);
    store.insert_calculation(&before).await.unwrap();
    let status = store.migration_status().await.unwrap();
    let below = status
        .applied
        .iter()
        .map(|m| m.version)
        .filter(|v| *v < 20261127000005)
        .max()
        .unwrap();
    store
        .migrate_down(MigrateDownTarget::To(below))
        .await
        .unwrap();
    assert!(store.outbox_stats().await.is_err(), "the table is gone");
    // Without the trigger a calculation is stored as before.
    let during = completed("FAC-1", &["B-1"], T0_US + S);
    store.insert_calculation(&during).await.unwrap();
    assert_eq!(
        store.calculation(&before.id).await.unwrap(),
        Some(before.clone())
    );
    store.migrate_up(None).await.unwrap();
    // The outbox starts empty: nothing is sent for calculations older than it.
    assert_eq!(store.outbox_stats().await.unwrap().pending, 0);
    let after = completed("FAC-1", &["B-1"], T0_US + 2 * S);
    store.insert_calculation(&after).await.unwrap();
    assert_eq!(store.outbox_stats().await.unwrap().pending, 1);
    assert!(store.outbox_entry(&after.id).await.unwrap().is_some());
}
