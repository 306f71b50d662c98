//! What the MITA end-to-end test checks in the emulators: the AWS side through the SDK
//! against moto, the Kubernetes side through kmock's API.

use serde_json::Value as Json;

use crate::mita_env::{MitaEnv, NAMESPACE, RELEASE};

fn names(items: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut out: Vec<String> = items
        .into_iter()
        .flatten()
        .filter(|n| n.starts_with("mita-"))
        .collect();
    out.sort();
    out
}

/// Parses a multi-document YAML stream as JSON values.
pub fn yaml_documents(text: &str) -> Vec<Json> {
    let documents: Vec<Json> =
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"));
    let documents: Vec<Json> = documents.into_iter().filter(|d| !d.is_null()).collect();
    assert!(!documents.is_empty(), "no YAML documents:\n{text}");
    for document in &documents {
        assert!(
            document["apiVersion"].is_string() && document["kind"].is_string(),
            "a document without apiVersion/kind: {document}"
        );
    }
    documents
}

/// RDS primary + replica, parameter and subnet groups, Redis, the ALB with its listeners,
/// target group and rule, both buckets.
pub async fn aws_created(env: &MitaEnv) {
    let aws = env.aws().await;
    let instances = aws.rds.describe_db_instances().send().await.unwrap();
    let instances = instances.db_instances();
    let ids = names(
        instances
            .iter()
            .map(|i| i.db_instance_identifier().map(str::to_string)),
    );
    assert_eq!(ids, ["mita-staging-db", "mita-staging-db-replica-0"]);
    let primary = instances
        .iter()
        .find(|i| i.db_instance_identifier() == Some("mita-staging-db"))
        .unwrap();
    assert_eq!(primary.engine(), Some("postgres"));
    assert!(primary.engine_version().unwrap_or("").starts_with("15"));
    assert_eq!(primary.db_instance_class(), Some("db.t4g.medium"));
    assert_eq!(primary.multi_az(), Some(true));
    assert_eq!(primary.storage_encrypted(), Some(true));
    assert_eq!(primary.backup_retention_period(), Some(7));
    assert_eq!(primary.publicly_accessible(), Some(false));
    let replica = instances
        .iter()
        .find(|i| i.db_instance_identifier() == Some("mita-staging-db-replica-0"))
        .unwrap();
    assert_eq!(replica.publicly_accessible(), Some(false));
    assert!(replica
        .read_replica_source_db_instance_identifier()
        .unwrap_or("")
        .contains("mita-staging-db"));
    let subnet_groups = aws.rds.describe_db_subnet_groups().send().await.unwrap();
    assert_eq!(
        names(
            subnet_groups
                .db_subnet_groups()
                .iter()
                .map(|g| g.db_subnet_group_name().map(str::to_string))
        ),
        ["mita-staging-db"]
    );
    // The lookups found the platform team's private subnets (`[data.aws_subnets.private]`).
    let mut in_group: Vec<String> = subnet_groups.db_subnet_groups()[0]
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(str::to_string))
        .collect();
    in_group.sort();
    let mut private = env.private_subnets.clone();
    private.sort();
    assert_eq!(
        in_group, private,
        "the database is in the private subnets only"
    );
    let parameter_groups = aws.rds.describe_db_parameter_groups().send().await.unwrap();
    assert_eq!(
        names(
            parameter_groups
                .db_parameter_groups()
                .iter()
                .map(|g| g.db_parameter_group_name().map(str::to_string))
        ),
        ["mita-staging-pg15"]
    );

    let groups = aws
        .elasticache
        .describe_replication_groups()
        .send()
        .await
        .unwrap();
    let redis = groups
        .replication_groups()
        .iter()
        .find(|g| g.replication_group_id() == Some("mita-staging-redis"))
        .expect("the Redis replication group");
    assert_eq!(redis.at_rest_encryption_enabled(), Some(true));
    assert_eq!(redis.transit_encryption_enabled(), Some(true));

    let lbs = aws.elbv2.describe_load_balancers().send().await.unwrap();
    let lb = lbs
        .load_balancers()
        .iter()
        .find(|l| l.load_balancer_name() == Some("mita-staging"))
        .expect("the ALB");
    let listeners = aws
        .elbv2
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let listeners = listeners.listeners();
    let https = listeners.iter().find(|l| l.port() == Some(443)).unwrap();
    assert_eq!(https.protocol().map(|p| p.as_str()), Some("HTTPS"));
    assert_eq!(https.certificates().len(), 1);
    // `[data.aws_acm_certificate.api]` found the certificate of the environment's domain.
    assert_eq!(
        https.certificates()[0].certificate_arn(),
        Some(env.certificate_arn.as_str())
    );
    let http = listeners.iter().find(|l| l.port() == Some(80)).unwrap();
    let redirect = http.default_actions()[0].redirect_config().unwrap();
    assert_eq!(redirect.protocol(), Some("HTTPS"));
    assert_eq!(redirect.status_code().map(|s| s.as_str()), Some("HTTP_301"));
    let rules = aws
        .elbv2
        .describe_rules()
        .listener_arn(https.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert!(rules.rules().iter().any(|r| r.priority() == Some("10")));
    let target_groups = aws.elbv2.describe_target_groups().send().await.unwrap();
    let backend = target_groups
        .target_groups()
        .iter()
        .find(|t| t.target_group_name() == Some("mita-staging-backend"))
        .expect("the target group");
    assert_eq!(backend.port(), Some(80));

    for bucket in ["mita-staging-backups", "mita-staging-files"] {
        aws.s3.head_bucket().bucket(bucket).send().await.unwrap();
    }
    backup_bucket(&aws).await;
    network_tiers(env, &aws).await;
}

/// The backup bucket as S3 stores it: SSE-KMS, TLS-only policy, versioning, lifecycle of
/// noncurrent versions, Object Lock in governance mode.
async fn backup_bucket(aws: &plinth_aws::Clients) {
    let bucket = "mita-staging-backups";
    let encryption = aws
        .s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .map(|d| d.sse_algorithm().as_str()),
        Some("aws:kms")
    );
    let policy = aws
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(
        statement["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    assert_eq!(statement["Resource"][1], format!("arn:aws:s3:::{bucket}/*"));
    let versioning = aws
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let lifecycle = aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle.rules()[0]
            .noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(90)
    );
    let lock = aws
        .s3
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let retention = lock
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .expect("a default retention");
    assert_eq!(retention.mode().map(|m| m.as_str()), Some("GOVERNANCE"));
    assert_eq!(retention.days(), Some(30));
}

/// Per-tier security groups, read through EC2, RDS, ElastiCache and ELB (not Plinth's state):
/// the internet reaches the ALB's group only; PostgreSQL and Redis admit one port each from
/// the application's group and no address range at all; each tier carries its own group.
async fn network_tiers(env: &MitaEnv, aws: &plinth_aws::Clients) {
    let out = aws
        .ec2
        .describe_security_groups()
        .send()
        .await
        .expect("DescribeSecurityGroups");
    let by_name = |name: &str| {
        out.security_groups()
            .iter()
            .find(|g| g.group_name() == Some(name))
            .unwrap_or_else(|| panic!("no security group {name}"))
    };
    let (alb, app, db, cache) = (
        by_name("mita-staging-alb"),
        by_name("mita-staging-app"),
        by_name("mita-staging-db"),
        by_name("mita-staging-cache"),
    );
    let [alb_id, app_id, db_id, cache_id] =
        [alb, app, db, cache].map(|g| g.group_id().unwrap().to_string());
    for g in [alb, app, db, cache] {
        assert_eq!(
            g.vpc_id(),
            Some(env.vpc_id.as_str()),
            "{:?}",
            g.group_name()
        );
    }
    // Which groups admit the internet (any IPv4 range that is not the VPC's private space).
    let internet_facing: Vec<&str> = out
        .security_groups()
        .iter()
        .filter(|g| {
            g.group_name()
                .is_some_and(|n| n.starts_with("mita-staging-"))
        })
        .filter(|g| {
            g.ip_permissions().iter().any(|p| {
                p.ip_ranges()
                    .iter()
                    .any(|r| !r.cidr_ip().unwrap_or("").starts_with("10."))
                    || !p.ipv6_ranges().is_empty()
            })
        })
        .filter_map(|g| g.group_name())
        .collect();
    assert_eq!(internet_facing, ["mita-staging-alb"]);
    let mut alb_ports: Vec<(Option<i32>, Option<&str>)> = alb
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            p.ip_ranges()
                .iter()
                .map(move |r| (p.from_port(), r.cidr_ip()))
        })
        .collect();
    alb_ports.sort();
    assert_eq!(
        alb_ports,
        [
            (Some(80), Some("0.0.0.0/0")),
            (Some(443), Some("0.0.0.0/0"))
        ]
    );
    // The data tier: exactly one rule each, from the application's group, no range.
    for (group, port) in [(db, 5432), (cache, 6379)] {
        let rules = group.ip_permissions();
        assert_eq!(rules.len(), 1, "{:?}: {rules:?}", group.group_name());
        let rule = &rules[0];
        assert_eq!(
            (rule.ip_protocol(), rule.from_port(), rule.to_port()),
            (Some("tcp"), Some(port), Some(port))
        );
        assert!(rule.ip_ranges().is_empty() && rule.ipv6_ranges().is_empty());
        let peers: Vec<&str> = rule
            .user_id_group_pairs()
            .iter()
            .filter_map(|p| p.group_id())
            .collect();
        assert_eq!(peers, [app_id.as_str()]);
        // AWS's default allow-all egress was revoked (egress = []).
        assert!(group.ip_permissions_egress().is_empty());
    }

    // Each tier carries its own group, and only it.
    let instances = aws.rds.describe_db_instances().send().await.unwrap();
    for instance in instances.db_instances().iter().filter(|i| {
        i.db_instance_identifier()
            .is_some_and(|n| n.starts_with("mita-"))
    }) {
        let groups: Vec<&str> = instance
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect();
        assert_eq!(
            groups,
            [db_id.as_str()],
            "{:?}",
            instance.db_instance_identifier()
        );
    }
    let redis = aws
        .elasticache
        .describe_replication_groups()
        .replication_group_id("mita-staging-redis")
        .send()
        .await
        .unwrap();
    let mut redis_nodes = 0;
    for member in redis.replication_groups()[0].member_clusters() {
        let out = aws
            .elasticache
            .describe_cache_clusters()
            .cache_cluster_id(member)
            .send()
            .await
            .unwrap();
        redis_nodes += 1;
        let groups: Vec<&str> = out.cache_clusters()[0]
            .security_groups()
            .iter()
            .filter_map(|g| g.security_group_id())
            .collect();
        assert_eq!(groups, [cache_id.as_str()], "Redis node {member}");
    }
    assert!(redis_nodes > 0, "no Redis node of mita-staging-redis");
    let lbs = aws
        .elbv2
        .describe_load_balancers()
        .names("mita-staging")
        .send()
        .await
        .unwrap();
    assert_eq!(lbs.load_balancers()[0].security_groups(), [alb_id]);
}

/// The primary's instance class.
pub async fn instance_class_is(env: &MitaEnv, class: &str) {
    let aws = env.aws().await;
    let out = aws
        .rds
        .describe_db_instances()
        .db_instance_identifier("mita-staging-db")
        .send()
        .await
        .unwrap();
    assert_eq!(out.db_instances()[0].db_instance_class(), Some(class));
}

/// Nothing of the stack is left in the account.
pub async fn aws_empty(env: &MitaEnv) {
    let aws = env.aws().await;
    let rds = aws.rds.describe_db_instances().send().await.unwrap();
    assert!(rds.db_instances().is_empty(), "{:?}", rds.db_instances());
    let subnet_groups = aws.rds.describe_db_subnet_groups().send().await.unwrap();
    assert!(names(
        subnet_groups
            .db_subnet_groups()
            .iter()
            .map(|g| g.db_subnet_group_name().map(str::to_string))
    )
    .is_empty());
    let parameter_groups = aws.rds.describe_db_parameter_groups().send().await.unwrap();
    assert!(names(
        parameter_groups
            .db_parameter_groups()
            .iter()
            .map(|g| g.db_parameter_group_name().map(str::to_string))
    )
    .is_empty());
    let groups = aws
        .elasticache
        .describe_replication_groups()
        .send()
        .await
        .unwrap();
    assert!(groups.replication_groups().is_empty());
    let cache_subnets = aws
        .elasticache
        .describe_cache_subnet_groups()
        .send()
        .await
        .unwrap();
    assert!(names(
        cache_subnets
            .cache_subnet_groups()
            .iter()
            .map(|g| g.cache_subnet_group_name().map(str::to_string))
    )
    .is_empty());
    let lbs = aws.elbv2.describe_load_balancers().send().await.unwrap();
    assert!(lbs.load_balancers().is_empty());
    let target_groups = aws.elbv2.describe_target_groups().send().await.unwrap();
    assert!(target_groups.target_groups().is_empty());
    let buckets = aws.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "{:?}", buckets.buckets());
    let groups = aws.ec2.describe_security_groups().send().await.unwrap();
    assert!(names(
        groups
            .security_groups()
            .iter()
            .map(|g| g.group_name().map(str::to_string))
    )
    .is_empty());
}

/// Namespace, policies, issuer, alert rules and the whole release with the guide's values.
pub fn kubernetes_created(env: &MitaEnv) {
    let ns = format!("/api/v1/namespaces/{NAMESPACE}");
    let namespace = env.kube_get(&ns).expect("the namespace");
    assert_eq!(namespace["metadata"]["labels"]["app"], "mita");
    let policies = env.kube_names(&format!(
        "/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies"
    ));
    assert_eq!(policies, ["default-deny-all", RELEASE]);
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let mut rules =
        env.kube_names("/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheusrules");
    rules.sort();
    assert_eq!(
        rules,
        [
            "mita-staging-app-alerts",
            "mita-staging-postgres-alerts",
            "mita-staging-redis-alerts"
        ]
    );

    // The guide's Grafana dashboards: a config map the Grafana sidecar loads, its JSON read
    // from stacks/mita/dashboards/.
    let dashboards = env
        .kube_get("/api/v1/namespaces/monitoring/configmaps/mita-staging-dashboards")
        .expect("the dashboards config map");
    assert_eq!(dashboards["metadata"]["labels"]["grafana_dashboard"], "1");
    for (key, uid) in [
        ("api-performance.json", "api-performance"),
        ("data-tier.json", "data-tier"),
    ] {
        let text = dashboards["data"][key].as_str().expect(key);
        let dashboard: Json = serde_json::from_str(text).expect("dashboard JSON");
        assert_eq!(dashboard["uid"], uid);
        assert!(!dashboard["panels"].as_array().unwrap().is_empty());
    }

    // Monitoring: /metrics scraped, critical alerts to PagerDuty with the key from a Secret.
    let monitor = env
        .kube_get(&format!(
            "/apis/monitoring.coreos.com/v1/namespaces/{NAMESPACE}/servicemonitors/{RELEASE}"
        ))
        .expect("the ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let service = env
        .kube_get(&format!("{ns}/services/{RELEASE}"))
        .expect("the Service");
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
    }
    let pagerduty = env
        .kube_get(&format!(
            "/apis/monitoring.coreos.com/v1alpha1/namespaces/{NAMESPACE}/alertmanagerconfigs/{RELEASE}-pagerduty"
        ))
        .expect("the AlertmanagerConfig");
    let key_ref = &pagerduty["spec"]["receivers"][0]["pagerdutyConfigs"][0]["routingKey"];
    let key_secret = env
        .kube_get(&format!(
            "{ns}/secrets/{}",
            key_ref["name"].as_str().unwrap()
        ))
        .expect("the routing key Secret");
    assert!(key_secret["data"][key_ref["key"].as_str().unwrap()].is_string());
    assert_eq!(
        pagerduty["spec"]["route"]["matchers"][0]["value"],
        "critical"
    );

    let deployment = env.deployment().expect("the Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/mita-finance/backend:v1.0.0");
    assert_eq!(container["resources"]["requests"]["cpu"], "500m");
    assert_eq!(container["resources"]["limits"]["memory"], "2Gi");
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"],
        "/health/production"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["serviceAccountName"], RELEASE);
    // Env values carrying a secret are in the Secret read through envFrom, never inline.
    let inline: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(inline.contains(&"BACKUP_BUCKET") && !inline.contains(&"DATABASE_URL"));
    let secret_name = container["envFrom"][0]["secretRef"]["name"]
        .as_str()
        .unwrap();
    let secret = env
        .kube_get(&format!("{ns}/secrets/{secret_name}"))
        .expect("the env Secret");
    // The Secret operators read, as the guide names it and spells its keys.
    let operators = env
        .kube_get(&format!("{ns}/secrets/{RELEASE}-secrets"))
        .expect("the guide's Secret");
    for key in [
        "database-url",
        "redis-url",
        "jwt-secret",
        "secret-key",
        "openai-api-key",
        "sentry-dsn",
        "backup-encryption-key",
    ] {
        assert!(
            operators["data"][key].is_string(),
            "{key} missing from {RELEASE}-secrets"
        );
    }
    assert_eq!(pod["containers"][0]["name"], "backend");
    for key in [
        "JWT_SECRET",
        "JWT_PREVIOUS_SECRET",
        "SECRET_KEY",
        "OPENAI_API_KEY",
        "SENTRY_DSN",
        "BACKUP_ENCRYPTION_KEY",
        "DATABASE_URL",
        "DATABASE_READ_URL",
        "REDIS_URL",
    ] {
        assert!(
            secret["data"][key].is_string(),
            "{key} missing from the Secret"
        );
    }
    let hpa = env
        .kube_get(&format!(
            "/apis/autoscaling/v2/namespaces/{NAMESPACE}/horizontalpodautoscalers/{RELEASE}-hpa"
        ))
        .expect("the HPA");
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_i64(),
            hpa["spec"]["maxReplicas"].as_i64()
        ),
        (Some(2), Some(3))
    );
    let ingress = env
        .kube_get(&format!(
            "/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/ingresses/{RELEASE}-ingress"
        ))
        .expect("the Ingress");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "staging.mita.finance");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    env.kube_get(&format!("{ns}/services/{RELEASE}"))
        .expect("the Service");
    env.kube_get(&format!(
        "/apis/policy/v1/namespaces/{NAMESPACE}/poddisruptionbudgets/{RELEASE}-pdb"
    ))
    .expect("the PodDisruptionBudget");
    let cron = env
        .kube_get(&format!(
            "/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs/{RELEASE}-backup"
        ))
        .expect("the backup CronJob");
    assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
    let jobs = env.kube_names(&format!("/apis/batch/v1/namespaces/{NAMESPACE}/jobs"));
    assert!(
        jobs.contains(&format!("{RELEASE}-migration-latest"))
            && jobs.contains(&format!("{RELEASE}-seed-data-latest")),
        "{jobs:?}"
    );
}

/// The namespace, the cluster-wide issuer and the alert rules are gone.
pub fn kubernetes_empty(env: &MitaEnv) {
    assert!(env
        .kube_get(&format!("/api/v1/namespaces/{NAMESPACE}"))
        .is_none());
    assert!(env.deployment().is_none());
    assert!(env
        .kube_names("/apis/elbv2.k8s.aws/v1beta1/namespaces/ingress-nginx/targetgroupbindings")
        .is_empty());
    assert!(env
        .kube_names("/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheusrules")
        .is_empty());
    assert!(env
        .kube_get("/api/v1/namespaces/monitoring/configmaps/mita-staging-dashboards")
        .is_none());
}

/// The request path, hop by hop: the ALB's target group (on moto) is bound by a
/// TargetGroupBinding to a Service that exists with that port; the Ingress of the release
/// routes its host to the release's Service, whose target port is a named container port of
/// the Deployment; the release's NetworkPolicy admits the controller's namespace.
pub async fn traffic_path(env: &MitaEnv, release: &str) {
    let aws = env.aws().await;
    let groups = aws.elbv2.describe_target_groups().send().await.unwrap();
    let group = groups
        .target_groups()
        .iter()
        .find(|t| t.target_group_name() == Some(&format!("{release}-backend")))
        .expect("the target group");
    let arn = group.target_group_arn().unwrap();
    let bindings =
        env.kube_get("/apis/elbv2.k8s.aws/v1beta1/namespaces/ingress-nginx/targetgroupbindings");
    let bindings = bindings
        .as_ref()
        .and_then(|l| l["items"].as_array())
        .cloned();
    let binding = bindings
        .unwrap_or_default()
        .into_iter()
        .find(|b| b["spec"]["targetGroupARN"] == arn)
        .unwrap_or_else(|| panic!("no TargetGroupBinding refers to {arn}"));
    assert_eq!(binding["spec"]["targetType"], "ip");
    assert_eq!(group.target_type().map(|t| t.as_str()), Some("ip"));
    let service_ref = &binding["spec"]["serviceRef"];
    let controller = env
        .kube_get(&format!(
            "/api/v1/namespaces/ingress-nginx/services/{}",
            service_ref["name"].as_str().unwrap()
        ))
        .expect("the Service the binding refers to");
    assert!(
        controller["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == service_ref["port"]),
        "no port {} on {controller}",
        service_ref["port"]
    );
    let ns = release; // the release's namespace has its name
    let ingress = env
        .kube_get(&format!(
            "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{release}-ingress"
        ))
        .expect("the Ingress");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    let service = env
        .kube_get(&format!(
            "/api/v1/namespaces/{ns}/services/{}",
            backend["name"].as_str().unwrap()
        ))
        .expect("the Service the Ingress routes to");
    let port = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["port"] == backend["port"]["number"])
        .expect("the Ingress's service port");
    let deployment = env
        .kube_get(&format!(
            "/apis/apps/v1/namespaces/{ns}/deployments/{release}"
        ))
        .expect("the Deployment");
    let container_ports = &deployment["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert!(
        container_ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == port["targetPort"]),
        "target port {} is not a container port: {container_ports}",
        port["targetPort"]
    );
    let policy = env
        .kube_get(&format!(
            "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/{release}"
        ))
        .expect("the release's NetworkPolicy");
    assert_eq!(
        policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
            ["kubernetes.io/metadata.name"],
        "ingress-nginx"
    );
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
}
