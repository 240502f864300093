"""The seed's Cloud Service Mapping table: every managed product and the OSS abstraction in front of it.

The no-lock-in principle holds when every product a spec uses is found here, so that each has an
abstraction that would let the platform leave that provider.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVIDERS = ("aws", "gcp", "azure")


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Capability:
    """One row of the table: a capability, its product on each provider, and the abstraction."""

    name: str
    products: dict[str, tuple[Product, ...]]
    abstraction: str


def _p(*pairs: tuple[str, str]) -> tuple[Product, ...]:
    return tuple(Product(id=i, name=n) for i, n in pairs)


CATALOG: tuple[Capability, ...] = (
    Capability(
        "Compute",
        {
            "aws": _p(("ec2", "EC2"), ("fargate", "Fargate")),
            "gcp": _p(("compute-engine", "Compute Engine"), ("cloud-run", "Cloud Run")),
            "azure": _p(("virtual-machines", "Virtual Machines"), ("aci", "ACI")),
        },
        "Terraform + Crossplane",
    ),
    Capability(
        "Kubernetes",
        {"aws": _p(("eks", "EKS")), "gcp": _p(("gke", "GKE")), "azure": _p(("aks", "AKS"))},
        "Cluster API + ArgoCD",
    ),
    Capability(
        "Database",
        {
            "aws": _p(("aurora-postgresql", "Aurora PostgreSQL")),
            "gcp": _p(("cloud-spanner", "Cloud Spanner")),
            "azure": _p(("cosmos-db-pg", "Cosmos DB (PG wire)")),
        },
        "CockroachDB compatibility",
    ),
    Capability(
        "Object Store",
        {"aws": _p(("s3", "S3")), "gcp": _p(("cloud-storage", "Cloud Storage")), "azure": _p(("blob-storage", "Blob Storage"))},
        "MinIO gateway abstraction",
    ),
    Capability(
        "Load Balancer",
        {
            "aws": _p(("alb", "ALB"), ("nlb", "NLB")),
            "gcp": _p(("cloud-load-balancing", "Cloud Load Balancing")),
            "azure": _p(("front-door", "Azure Front Door")),
        },
        "Envoy / Istio ingress",
    ),
    Capability(
        "CDN",
        {
            "aws": _p(("cloudfront", "CloudFront (backup)")),
            "gcp": _p(("cloud-cdn", "Cloud CDN (backup)")),
            "azure": _p(("azure-cdn", "Azure CDN (backup)")),
        },
        "CloudFlare (primary)",
    ),
    Capability(
        "IAM",
        {"aws": _p(("aws-iam", "AWS IAM")), "gcp": _p(("cloud-iam", "Cloud IAM")), "azure": _p(("entra-id", "Entra ID"))},
        "SPIFFE/SPIRE + OPA",
    ),
    Capability(
        "Secrets",
        {
            "aws": _p(("secrets-manager", "Secrets Manager")),
            "gcp": _p(("secret-manager", "Secret Manager")),
            "azure": _p(("key-vault", "Key Vault")),
        },
        "HashiCorp Vault (primary)",
    ),
    Capability(
        "Message Queue",
        {
            "aws": _p(("msk", "MSK (Kafka)")),
            "gcp": _p(("pubsub-kafka-bridge", "Pub/Sub + Kafka bridge")),
            "azure": _p(("event-hubs", "Event Hubs (Kafka protocol)")),
        },
        "Kafka API abstraction",
    ),
    Capability(
        "Monitoring",
        {
            "aws": _p(("cloudwatch", "CloudWatch")),
            "gcp": _p(("cloud-monitoring", "Cloud Monitoring")),
            "azure": _p(("azure-monitor", "Azure Monitor")),
        },
        "Prometheus + Grafana (primary)",
    ),
    Capability(
        "DNS",
        {"aws": _p(("route53", "Route 53")), "gcp": _p(("cloud-dns", "Cloud DNS")), "azure": _p(("azure-dns", "Azure DNS"))},
        "CloudFlare DNS (primary)",
    ),
    Capability(
        "Container Reg",
        {
            "aws": _p(("ecr", "ECR")),
            "gcp": _p(("artifact-registry", "Artifact Registry")),
            "azure": _p(("acr", "ACR")),
        },
        "Harbor (primary)",
    ),
)

# Datastore kinds of the spec and the capability that serves each.
DATASTORE_CAPABILITY = {"sql": "Database", "stream": "Message Queue", "object": "Object Store"}


@dataclass(frozen=True, slots=True)
class Mapping:
    capability: str
    product: str
    abstraction: str


def lookup(provider: str, product_id: str) -> Mapping | None:
    """The row that maps `product_id` on `provider`, or None when the catalog has no abstraction for it."""
    for cap in CATALOG:
        for product in cap.products.get(provider, ()):
            if product.id == product_id:
                return Mapping(capability=cap.name, product=product.name, abstraction=cap.abstraction)
    return None


def capability(name: str) -> Capability:
    for cap in CATALOG:
        if cap.name == name:
            return cap
    raise KeyError(name)
