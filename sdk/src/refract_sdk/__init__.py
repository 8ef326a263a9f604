"""refract-sdk: typed emitters for Refract event contracts."""
