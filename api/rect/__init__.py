"""The rewrite's v3 contract (../shared/contract/rect-v3.yaml), served at /api/v3/ to rewrite-flavoured
providers (api/flavours.py). Its views call the original's v3 views and the same services and
selectors by import, and only reshape what they answer: no business rule lives here."""
