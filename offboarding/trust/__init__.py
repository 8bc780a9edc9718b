"""Trust boundary: who may ask, who may decide, and how each identity is proven (pure rules in
`proofs` and `standing`; queries in `store`; the server secret in `secrets`)."""
