"""Each tenant's WeChat Pay merchant and the platform certificates: in the control database."""
