# An EKS cluster with a CPU node group for the gateway, the controller, Redis and the collector, and a
# tainted GPU node group for runtime pods; then warmgate on it.

provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 3)
  # The label the NVIDIA device plugin's chart schedules on, and runtime pods select.
  gpu_node_labels = { "nvidia.com/gpu.present" = "true" }
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.21"

  name            = var.cluster_name
  cidr            = "10.0.0.0/16"
  azs             = local.azs
  private_subnets = [for i, _ in local.azs : cidrsubnet("10.0.0.0/16", 4, i)]
  public_subnets  = [for i, _ in local.azs : cidrsubnet("10.0.0.0/16", 8, 48 + i)]

  enable_nat_gateway = true
  single_nat_gateway = true

  public_subnet_tags  = { "kubernetes.io/role/elb" = "1" }
  private_subnet_tags = { "kubernetes.io/role/internal-elb" = "1" }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.37"

  cluster_name                             = var.cluster_name
  cluster_version                          = var.kubernetes_version
  cluster_endpoint_public_access           = true
  enable_cluster_creator_admin_permissions = true

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  cluster_addons = {
    coredns                = {}
    kube-proxy             = {}
    vpc-cni                = { before_compute = true }
    eks-pod-identity-agent = {}
    # Redis's PersistentVolumeClaim.
    aws-ebs-csi-driver = {}
  }

  eks_managed_node_group_defaults = {
    # The EBS CSI driver runs with the node role.
    iam_role_additional_policies = {
      ebs_csi = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    }
  }

  eks_managed_node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = [var.system_instance_type]
      min_size       = 2
      max_size       = 4
      desired_size   = 2
    }

    gpu = {
      # NVIDIA driver and container toolkit preinstalled; the device plugin comes below.
      ami_type       = "AL2023_x86_64_NVIDIA"
      instance_types = [var.gpu_instance_type]
      min_size       = var.gpu_nodes.min
      max_size       = var.gpu_nodes.max
      desired_size   = var.gpu_nodes.desired
      # Room for the image and model files (the launch template ignores disk_size).
      block_device_mappings = {
        xvda = {
          device_name = "/dev/xvda"
          ebs         = { volume_size = 100, volume_type = "gp3", delete_on_termination = true }
        }
      }
      labels = local.gpu_node_labels
      taints = {
        gpu = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }
      }
    }
  }
}

provider "kubernetes" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

# gp3 as the default StorageClass (EKS creates gp2 without the default annotation).
resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name        = "gp3"
    annotations = { "storageclass.kubernetes.io/is-default-class" = "true" }
  }
  storage_provisioner    = "ebs.csi.aws.com"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  reclaim_policy         = "Retain"
  parameters             = { type = "gp3", encrypted = "true" }

  depends_on = [module.eks]
}

# Advertises nvidia.com/gpu on the GPU nodes.
resource "helm_release" "nvidia_device_plugin" {
  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.nvidia_device_plugin_version

  values = [yamlencode({
    nodeSelector = local.gpu_node_labels
    tolerations  = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  })]

  depends_on = [module.eks]
}

module "warmgate" {
  source = "../../modules/warmgate"

  namespace            = "warmgate"
  image                = var.image
  gateway_service_type = "LoadBalancer"
  gateway_service_annotations = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme" = var.public_gateway ? "internet-facing" : "internal"
  }

  runtime_gpus          = var.runtime_gpus
  runtime_node_selector = local.gpu_node_labels
  runtime_tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]

  redis_storage_class  = kubernetes_storage_class_v1.gp3.metadata[0].name
  otel_traces_endpoint = var.otel_traces_endpoint

  depends_on = [helm_release.nvidia_device_plugin]
}
