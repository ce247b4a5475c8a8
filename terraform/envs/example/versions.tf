terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
  # Use a remote, encrypted backend in a real deployment: the state holds the node and
  # TURN secrets (they are rendered into user-data). For example:
  # backend "s3" {
  #   bucket       = "my-meridian-tfstate"
  #   key          = "meridian/example.tfstate"
  #   region       = "eu-central-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}

provider "aws" {
  alias  = "eu"
  region = "eu-central-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}

provider "aws" {
  alias  = "ap"
  region = "ap-southeast-1"
}
