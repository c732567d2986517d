//! Leader election against the in-process Kubernetes API server: acquisition, standby, takeover after expiry, release, races, and loss.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use test_apiserver::TestApiServer;
use tokio::time::Instant;

use super::*;

const NS: &str = "default";
const LEASE: &str = "test-operator-leader";
const LEASE_DURATION: Duration = Duration::from_secs(1);
const RENEW_DEADLINE: Duration = Duration::from_millis(600);
const RETRY_PERIOD: Duration = Duration::from_millis(200);

async fn server() -> (TestApiServer, kube::Client) {
    crate::http::install_crypto_provider();
    let api = TestApiServer::start().await.expect("starting test-apiserver");
    let config = kube::Config::new(api.url().parse().expect("server url"));
    let client = kube::Client::try_from(config).expect("kube client");
    (api, client)
}

fn config(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        namespace: NS.into(),
        name: LEASE.into(),
        identity: identity.into(),
        lease_duration: LEASE_DURATION,
        renew_deadline: RENEW_DEADLINE,
        retry_period: RETRY_PERIOD,
    }
}

fn elector(client: &kube::Client, identity: &str) -> LeaderElector {
    LeaderElector::new(client.clone(), config(identity))
}

async fn lease(client: &kube::Client) -> LeaseSpec {
    Api::<Lease>::namespaced(client.clone(), NS)
        .get(LEASE)
        .await
        .unwrap()
        .spec
        .unwrap()
}

fn holder(spec: &LeaseSpec) -> &str {
    spec.holder_identity.as_deref().unwrap_or("")
}

#[tokio::test]
async fn first_candidate_creates_and_acquires_the_lease() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    assert!(!a.is_leader());
    assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    let spec = lease(&client).await;
    assert_eq!(holder(&spec), "a");
    assert_eq!(spec.lease_duration_seconds, Some(1));
    assert_eq!(spec.lease_transitions, Some(0));
    assert!(
        spec.acquire_time.is_some() && spec.renew_time.is_some(),
        "{spec:?}"
    );

    // Renewing moves renewTime, keeps acquireTime and the transition count.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    let renewed = lease(&client).await;
    assert_eq!(renewed.acquire_time, spec.acquire_time);
    assert!(renewed.renew_time > spec.renew_time, "{renewed:?}");
    assert_eq!(renewed.lease_transitions, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_waits_while_the_leader_renews() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(a.acquire(&mut stop).await.unwrap());
    assert!(a.is_leader());
    let holding = tokio::spawn(async move { a.hold().await });

    let mut b = elector(&client, "b");
    let until = Instant::now() + LEASE_DURATION * 3;
    while Instant::now() < until {
        assert_eq!(
            b.try_acquire_or_renew().await.unwrap(),
            Attempt::HeldBy("a".into())
        );
        tokio::time::sleep(RETRY_PERIOD).await;
    }
    assert!(!b.is_leader());
    assert!(!holding.is_finished(), "the leader kept renewing");
    holding.abort();
}

#[tokio::test]
async fn standby_takes_over_only_after_the_lease_expires_on_its_own_clock() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    drop(a); // stops renewing (crashed)

    let mut b = elector(&client, "b");
    let first_seen = Instant::now();
    assert_eq!(
        b.try_acquire_or_renew().await.unwrap(),
        Attempt::HeldBy("a".into())
    );
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(b.acquire(&mut stop).await.unwrap());
    let waited = first_seen.elapsed();
    assert!(waited >= LEASE_DURATION, "took over after {waited:?}");
    assert!(
        waited < LEASE_DURATION * 2 + RETRY_PERIOD * 3,
        "took over after {waited:?}"
    );
    let spec = lease(&client).await;
    assert_eq!(holder(&spec), "b");
    assert_eq!(spec.lease_transitions, Some(1));
}

#[tokio::test]
async fn a_stale_renew_time_from_a_skewed_clock_does_not_expire_the_lease_early() {
    let (_api, client) = server().await;
    // The holder's clock is an hour behind: its renewTime looks long expired to everyone else.
    let skewed = MicroTime(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1));
    let skewed_lease = Lease {
        metadata: ObjectMeta {
            name: Some(LEASE.into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("skewed".into()),
            lease_duration_seconds: Some(1),
            acquire_time: Some(skewed.clone()),
            renew_time: Some(skewed),
            lease_transitions: Some(4),
            ..LeaseSpec::default()
        }),
    };
    Api::<Lease>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &skewed_lease)
        .await
        .unwrap();
    let mut b = elector(&client, "b");
    assert_eq!(
        b.try_acquire_or_renew().await.unwrap(),
        Attempt::HeldBy("skewed".into())
    );
    tokio::time::sleep(LEASE_DURATION / 2).await;
    assert_eq!(
        b.try_acquire_or_renew().await.unwrap(),
        Attempt::HeldBy("skewed".into())
    );
    tokio::time::sleep(LEASE_DURATION / 2 + Duration::from_millis(50)).await;
    assert_eq!(b.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    let spec = lease(&client).await;
    assert_eq!((holder(&spec), spec.lease_transitions), ("b", Some(5)));
}

#[tokio::test]
async fn a_released_lease_is_taken_at_once() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(a.acquire(&mut stop).await.unwrap());
    let leadership = a.leadership();
    assert!(leadership.is_leader());
    assert_eq!(leadership.lease(), "default/test-operator-leader");

    let mut b = elector(&client, "b");
    assert_eq!(
        b.try_acquire_or_renew().await.unwrap(),
        Attempt::HeldBy("a".into())
    );
    a.release().await.unwrap();
    assert!(!leadership.is_leader());
    let released = lease(&client).await;
    assert_eq!(holder(&released), "");
    assert_eq!(released.lease_duration_seconds, Some(1));

    let started = Instant::now();
    assert_eq!(b.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    assert!(started.elapsed() < LEASE_DURATION / 2);
    let spec = lease(&client).await;
    assert_eq!(holder(&spec), "b");
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(1));

    // Releasing a lease someone else holds changes nothing.
    a.release().await.unwrap();
    assert_eq!(holder(&lease(&client).await), "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_candidates_elect_exactly_one_leader() {
    let (_api, client) = server().await;
    let mut conflicts = 0;
    for round in 0..4 {
        let mut candidates: Vec<LeaderElector> = (0..6)
            .map(|i| elector(&client, &format!("c{round}-{i}")))
            .collect();
        let outcomes =
            futures::future::join_all(candidates.iter_mut().map(LeaderElector::try_acquire_or_renew)).await;
        let leaders: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Ok(Attempt::Leading)))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(leaders.len(), 1, "round {round}: {outcomes:?}");
        for outcome in &outcomes {
            match outcome {
                Ok(Attempt::Leading) => {}
                Ok(Attempt::HeldBy(h)) => assert_eq!(h, &format!("c{round}-{}", leaders[0])),
                Err(e) => {
                    assert!(e.is_conflict(), "{e}");
                    conflicts += 1;
                }
            }
        }
        assert_eq!(holder(&lease(&client).await), format!("c{round}-{}", leaders[0]));
        // Release, so that the next round races for an existing (update) instead of an absent
        // (create) Lease.
        candidates[leaders[0]].release().await.unwrap();
    }
    // Six candidates racing four times: some writes lose with 409 (create or update).
    assert!(conflicts > 0, "no race was observed");
    assert_eq!(lease(&client).await.lease_transitions, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_reports_loss_when_another_identity_overwrites_the_lease() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    let leadership = a.leadership();
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(a.acquire(&mut stop).await.unwrap());
    let holding = tokio::spawn(async move { a.hold().await });
    tokio::time::sleep(RETRY_PERIOD * 2).await;
    assert!(!holding.is_finished());

    // Another identity overwrites the Lease (retrying when it races with a renewal).
    let api = Api::<Lease>::namespaced(client.clone(), NS);
    loop {
        let mut stolen = api.get(LEASE).await.unwrap();
        stolen.spec.as_mut().unwrap().holder_identity = Some("intruder".into());
        match api.replace(LEASE, &PostParams::default(), &stolen).await {
            Ok(_) => break,
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(e) => panic!("{e}"),
        }
    }

    let lost = tokio::time::timeout(RETRY_PERIOD * 3, holding)
        .await
        .expect("loss reported")
        .unwrap();
    assert!(
        matches!(&lost, Error::LeadershipLost { lease, reason } if lease == "default/test-operator-leader" && reason.contains("intruder")),
        "{lost}"
    );
    assert!(!leadership.is_leader());
    assert_eq!(
        holder(&lease(&client).await),
        "intruder",
        "the loser never writes back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_reports_loss_when_it_cannot_renew_within_the_deadline() {
    let (api, client) = server().await;
    let mut a = elector(&client, "a");
    let leadership = a.leadership();
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(a.acquire(&mut stop).await.unwrap());
    let holding = tokio::spawn(async move { a.hold().await });
    tokio::time::sleep(RETRY_PERIOD * 2).await;
    assert!(!holding.is_finished());
    let cut = Instant::now();
    api.shutdown().await;

    let lost = tokio::time::timeout(RENEW_DEADLINE + RETRY_PERIOD * 2, holding)
        .await
        .expect("loss reported within the renew deadline")
        .unwrap();
    assert!(matches!(lost, Error::LeadershipLost { .. }), "{lost}");
    // Reported before any standby could take over (the lease duration after the last renewal).
    assert!(cut.elapsed() < LEASE_DURATION, "{:?}", cut.elapsed());
    assert!(!leadership.is_leader());
    assert_eq!(lost.metric_label(), "leadership_lost");
    assert!(!lost.is_retryable());
}

#[tokio::test]
async fn acquire_returns_when_stopped_while_standing_by() {
    let (_api, client) = server().await;
    let mut a = elector(&client, "a");
    assert_eq!(a.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    let mut b = elector(&client, "b");
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(RETRY_PERIOD * 2).await;
        stop_tx.send(true).unwrap();
    });
    let acquired = tokio::time::timeout(LEASE_DURATION / 2 + RETRY_PERIOD * 2, b.acquire(&mut stop))
        .await
        .expect("acquire stops");
    assert!(!acquired.unwrap());
    assert!(!b.is_leader());
    stopper.await.unwrap();
}

#[test]
fn inconsistent_durations_are_rejected_with_a_clear_message() {
    let ok = config("a");
    ok.validate().unwrap();
    let bad = LeaderElectionConfig {
        renew_deadline: LEASE_DURATION,
        ..config("a")
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains(
            "--leader-election-renew-deadline (1s) must be shorter than --leader-election-lease-duration (1s)"
        ),
        "{e}"
    );
    let bad = LeaderElectionConfig {
        retry_period: RENEW_DEADLINE,
        ..config("a")
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("--leader-election-retry-period (600ms) must be shorter than --leader-election-renew-deadline (600ms)"), "{e}");
}

#[test]
fn lease_duration_is_recorded_in_whole_seconds_rounded_up() {
    let with = |d: Duration| LeaderElectionConfig {
        lease_duration: d,
        ..config("a")
    };
    assert_eq!(with(Duration::from_secs(15)).lease_duration_seconds(), 15);
    assert_eq!(with(Duration::from_millis(1500)).lease_duration_seconds(), 2);
    assert_eq!(with(Duration::from_millis(300)).lease_duration_seconds(), 1);
}

#[test]
fn identities_are_unique_per_process() {
    let (a, b) = (default_identity(), default_identity());
    assert_ne!(a, b);
    assert!(a.contains('_'), "{a}");
}

fn run_args(extra: &[&str]) -> std::result::Result<crate::commands::RunArgs, clap::Error> {
    use clap::FromArgMatches;
    let info = crate::operator::AppInfo {
        name: "petstore-operator",
        group: "petstore.example.com",
        version: "v1alpha1",
        generator_version: "9.9.9",
    };
    let argv = ["petstore-operator", "run"].iter().chain(extra);
    let m = crate::commands::command(&info).try_get_matches_from(argv)?;
    match crate::commands::Cli::from_arg_matches(&m)?.command {
        crate::commands::Command::Run(args) => Ok(args),
        crate::commands::Command::Crds(_) => panic!("not run"),
    }
}

#[test]
fn leader_election_flags_default_to_off_and_client_go_durations() {
    let args = run_args(&[]).unwrap().leader_election;
    assert!(!args.enabled);
    assert_eq!(args.config("petstore-operator", "ops").unwrap(), None);
    assert_eq!(
        (args.lease_duration, args.renew_deadline, args.retry_period),
        (
            Duration::from_secs(15),
            Duration::from_secs(10),
            Duration::from_secs(2)
        )
    );

    let args = run_args(&[
        "--leader-elect",
        "--leader-election-namespace",
        "team",
        "--leader-election-lease-duration",
        "1s",
        "--leader-election-renew-deadline",
        "600ms",
        "--leader-election-retry-period",
        "200ms",
    ])
    .unwrap()
    .leader_election;
    let config = args.config("petstore-operator", "ops").unwrap().unwrap();
    assert_eq!(config.lease(), "team/petstore-operator-leader");
    assert_eq!(config.retry_period, RETRY_PERIOD);

    let args = run_args(&[
        "--leader-elect",
        "--leader-election-id",
        "custom",
        "--leader-election-namespace",
        "x",
    ])
    .unwrap()
    .leader_election;
    assert_eq!(
        args.config("petstore-operator", "ops").unwrap().unwrap().lease(),
        "x/custom"
    );

    let args = run_args(&["--leader-elect", "--leader-election-renew-deadline", "20s"])
        .unwrap()
        .leader_election;
    assert!(args.config("petstore-operator", "ops").is_err());
    assert!(run_args(&["--leader-election-retry-period", "0"]).is_err());
}

#[tokio::test]
async fn readyz_of_a_standby_is_ok_and_says_so() {
    use tower::ServiceExt;
    let env = crate::test_support::Env::start(vec![], vec![], &[]).await;
    let mut holder = elector(&env.client, "a");
    assert_eq!(holder.try_acquire_or_renew().await.unwrap(), Attempt::Leading);
    let standby = elector(&env.client, "b");
    env.ctx.readiness.register("TestPet");
    let get = |leadership: Option<Leadership>| {
        let router = crate::commands::health_router_with(env.ctx.clone(), leadership);
        async move {
            let req = http::Request::get("/readyz")
                .body(axum::body::Body::empty())
                .unwrap();
            let response = router.oneshot(req).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(
        get(Some(standby.leadership())).await,
        (
            200,
            "standby: waiting for leadership of default/test-operator-leader".to_owned()
        )
    );
    // The leader reports its controllers' readiness, like a process without leader election.
    let mut stop = tokio::sync::watch::channel(false).1;
    assert!(holder.acquire(&mut stop).await.unwrap());
    assert_eq!(get(Some(holder.leadership())).await.0, 503);
    assert_eq!(get(None).await.0, 503);
    env.ctx.readiness.set_ready("TestPet");
    assert_eq!(get(Some(holder.leadership())).await, (200, "ready".to_owned()));
}
