# Rego translation of scenarios/ci-secret-read/writ/ci.writ.
#
# input: the request in Writ's JSON form. data.entities[type][id] = {attrs, ancestors},
# ancestors as {type: {id: true}} (transitive). Rules are functions of the principal `p`,
# as in Writ, where each principal of `on_behalf_of` is authorized afresh.
package writ_compare.ci

import rego.v1

levels := {"public": 0, "internal": 1, "confidential": 2, "secret": 3}

weekdays := {"Monday": 1, "Tuesday": 2, "Wednesday": 3, "Thursday": 4, "Friday": 5, "Saturday": 6, "Sunday": 7}

entity(ref) := data.entities[ref.type][ref.id]

resource := entity(input.resource)

now_ns := time.parse_rfc3339_ns(input.context.now)

credential_fresh if time.parse_duration_ns(input.context.credential_age) < time.parse_duration_ns("15m")

# time.within(now, start, end): [start, end)
in_window(pe) if {
	pe.attrs.window_start
	pe.attrs.window_end
	now_ns >= time.parse_rfc3339_ns(pe.attrs.window_start)
	now_ns < time.parse_rfc3339_ns(pe.attrs.window_end)
}

# resource in Environment::"prod" (`in` is reflexive)
resource_in_prod if input.resource == {"type": "Environment", "id": "prod"}

resource_in_prod if resource.ancestors.Environment.prod

approved if input.context.approved == true

# @id("ci-secrets-in-window")
permit(p) if {
	p.type == "ServiceAccount"
	input.action == "read_secret"
	input.resource.type == "Secret"
	pe := entity(p)
	resource.ancestors[pe.attrs.env.type][pe.attrs.env.id]
	in_window(pe)
	credential_fresh
}

# @id("ci-deploy-in-window")
permit(p) if {
	p.type == "ServiceAccount"
	input.action == "deploy"
	input.resource.type == "Environment"
	pe := entity(p)
	input.resource == pe.attrs.env
	in_window(pe)
}

# @id("nightly-staging"): time.hours_between(now, 1, 5)
permit(p) if {
	p.type == "ServiceAccount"
	p.id == "nightly"
	input.action == "read_secret"
	input.resource.type == "Secret"
	resource.ancestors.Environment.staging
	[hour, _, _] := time.clock(now_ns)
	hour >= 1
	hour < 5
	credential_fresh
}

# @id("ci-workload-identity-prod")
forbid(p) if {
	p.type == "ServiceAccount"
	pe := entity(p)
	pe.attrs.env == {"type": "Environment", "id": "prod"}
	not startswith(pe.attrs.workload, "spiffe://prod.acme/ns/ci/")
}

# @id("ci-workload-identity-staging")
forbid(p) if {
	p.type == "ServiceAccount"
	pe := entity(p)
	pe.attrs.env == {"type": "Environment", "id": "staging"}
	not startswith(pe.attrs.workload, "spiffe://staging.acme/ns/ci/")
}

# @id("weekend-freeze"): time.is_weekend(now)
forbid(p) if {
	p.type == "ServiceAccount"
	input.action in {"read_secret", "deploy"}
	resource_in_prod
	weekdays[time.weekday(now_ns)] >= 6
}

# @id("root-secrets-need-approval"): an escalate in Writ; here it withholds the allow.
escalate(p) if {
	p.type == "ServiceAccount"
	input.action == "read_secret"
	input.resource.type == "Secret"
	levels[resource.attrs.sensitivity] >= levels.secret
	not approved
}

# The intent envelopes.
within_intent if {
	input.intent == "deploy_release"
	input.action == "read_secret"
	input.resource.type == "Secret"
}

within_intent if {
	input.intent == "deploy_release"
	input.action == "deploy"
	input.resource.type == "Environment"
}

within_intent if {
	input.intent == "run_tests"
	input.action == "read_secret"
	input.resource.type == "Secret"
	resource.ancestors.Environment.staging
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
