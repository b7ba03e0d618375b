// The inventory's policies as nodes (graphflow.stores.neo4j.load_workspace, with the hosts):
// replaces every (:Policy) and (:PolicyRule) by $policies and $rules, the tables of
// graphflow.analyses.policy_violations.policy_model (null values left out).
// Read by cypher/policy_violations.cypher; see cypher/schema.cypher.
CALL { MATCH (n:Policy) DETACH DELETE n }
CALL { MATCH (n:PolicyRule) DETACH DELETE n }
CALL { UNWIND $policies AS p CREATE (x:Policy) SET x = p }
CALL { UNWIND $rules AS r CREATE (x:PolicyRule) SET x = r }
RETURN size($policies) AS policies, size($rules) AS rules
