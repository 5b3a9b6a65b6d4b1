# Rego translation of examples/spec/agents.writ and humans.writ (the running example).
#
# input: the request in Writ's JSON form. data.entities[type][id] = {attrs, ancestors},
# ancestors as {type: {id: true}} (transitive), so `in` is a lookup.
# Writ's rules apply to the principal and, afresh, to each principal of `on_behalf_of`:
# hence the rules are functions of the principal `p`.
package writ_compare.agent

import rego.v1

levels := {"public": 0, "internal": 1, "confidential": 2, "secret": 3}

weekdays := {"Monday": 1, "Tuesday": 2, "Wednesday": 3, "Thursday": 4, "Friday": 5, "Saturday": 6, "Sunday": 7}

entity(ref) := data.entities[ref.type][ref.id]

resource := entity(input.resource)

now_ns := time.parse_rfc3339_ns(input.context.now)

# std.time business_hours: Monday to Friday, 09:00 to 17:00 UTC.
business_hours if {
	weekdays[time.weekday(now_ns)] <= 5
	[hour, _, _] := time.clock(now_ns)
	hour >= 9
	hour < 17
}

approved if input.context.approved == true

# @id("agent-tools")
permit(p) if {
	p.type == "Agent"
	input.action == "call_tool"
	input.resource.type == "Tool"
	levels[resource.attrs.sensitivity] <= levels.internal
	input.context.risk < 50
	business_hours
}

# @id("secrets-same-env")
permit(p) if {
	p.type == "Agent"
	input.action == "read_secret"
	input.resource.type == "Secret"
	entity(p).attrs.env == resource.attrs.env
	time.parse_duration_ns(input.context.credential_age) < time.parse_duration_ns("10m")
	startswith(entity(p).attrs.workload, "spiffe://prod.acme/")
}

# @id("humans-within-clearance")
permit(p) if {
	p.type == "Human"
	input.action == "call_tool"
	input.resource.type == "Tool"
	levels[resource.attrs.sensitivity] <= levels[entity(p).attrs.clearance]
}

# @id("risk-ceiling")
forbid(_) if input.context.risk >= 80

# @id("destructive-needs-human"): an escalate in Writ; here it withholds the allow.
escalate(p) if {
	p.type == "Agent"
	input.action == "call_tool"
	input.resource.type == "Tool"
	resource.attrs.destructive
	not approved
}

# The intent envelopes.
within_intent if {
	input.intent == "triage_ticket"
	input.action == "call_tool"
	resource.ancestors.ToolGroup.ticketing
}

within_intent if {
	input.intent == "rotate_keys"
	input.action == "read_secret"
	input.resource.type == "Secret"
}

intent_ok if not input.intent

intent_ok if within_intent

ok(p) if {
	not forbid(p)
	not escalate(p)
	permit(p)
}

default allow := false

allow if {
	intent_ok
	ok(input.principal)
	every h in object.get(input, "on_behalf_of", []) {
		ok(h)
	}
}
