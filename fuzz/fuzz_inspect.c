/* fuzz_inspect.c - arbitrary IP frames through the whole inspector with a
 * stateless layer in front (runtime/inspect.c): fragments judged one at a
 * time before reassembly (their first-fragment ports and TCP flags read
 * from the fragment's bytes), reassembly, flows, streams, app detection and
 * the engine. The policy (built once) has stateless rules on ports and TCP
 * flags, a fragment default and a stateful rule. */
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "hostgate/engine.h"
#include "hostgate/inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy[] =
	"Resources:\n"
	"  SL:\n"
	"    Type: AWS::NetworkFirewall::RuleGroup\n"
	"    Properties:\n"
	"      RuleGroupName: sl\n"
	"      Type: STATELESS\n"
	"      Capacity: 10\n"
	"      RuleGroup:\n"
	"        RulesSource:\n"
	"          StatelessRulesAndCustomActions:\n"
	"            StatelessRules:\n"
	"              - Priority: 1\n"
	"                RuleDefinition:\n"
	"                  Actions: [\"aws:drop\"]\n"
	"                  MatchAttributes:\n"
	"                    Protocols: [17]\n"
	"                    DestinationPorts: [{FromPort: 9, ToPort: 9}]\n"
	"              - Priority: 2\n"
	"                RuleDefinition:\n"
	"                  Actions: [\"aws:pass\"]\n"
	"                  MatchAttributes:\n"
	"                    Protocols: [6]\n"
	"                    TCPFlags: [{Flags: [RST], Masks: [RST, ACK]}]\n"
	"  SF:\n"
	"    Type: AWS::NetworkFirewall::RuleGroup\n"
	"    Properties:\n"
	"      RuleGroupName: sf\n"
	"      Type: STATEFUL\n"
	"      Capacity: 10\n"
	"      RuleGroup:\n"
	"        RulesSource:\n"
	"          RulesString: |\n"
	"            drop tls any any -> any any (tls.sni; content:\"x\"; flow:to_server; sid:1;)\n"
	"  P:\n"
	"    Type: AWS::NetworkFirewall::FirewallPolicy\n"
	"    Properties:\n"
	"      FirewallPolicyName: p\n"
	"      FirewallPolicy:\n"
	"        StatelessDefaultActions: [\"aws:forward_to_sfe\"]\n"
	"        StatelessFragmentDefaultActions: [\"aws:forward_to_sfe\"]\n"
	"        StatelessRuleGroupReferences: [{ResourceArn: !Ref SL, Priority: 1}]\n"
	"        StatefulRuleGroupReferences: [{ResourceArn: !Ref SF}]\n";

static struct hg_engine *engine(void)
{
	static struct hg_engine *e;
	if (e)
		return e;
	struct hg_load_opts lo;
	hg_load_opts_defaults(&lo);
	struct hg_diag d;
	hg_diag_init(&d);
	struct hg_ruleset *rs = hg_ruleset_new();
	if (!hg_load_yaml(rs, "fuzz.yaml", policy, sizeof(policy) - 1, &lo, &d) || !hg_ruleset_finalize(rs, &lo, &d))
		abort();
	e = hg_engine_new(rs); /* rs lives as long as the process */
	if (!e)
		abort();
	return e;
}

/* Input: frames as [len hi][len lo][time step] then len bytes of IP. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_inspect_config c;
	hg_inspect_config_defaults(&c);
	c.flow.max_flows = 8;
	c.stream.depth_to_server = 2048;
	c.stream.max_bytes = 16384;
	c.defrag.max_datagrams = 4;
	c.defrag.max_bytes = 20000;
	struct hg_inspector *ins = hg_inspector_new(engine(), &c, NULL);
	if (!ins)
		abort();
	uint64_t ts = 1000000;
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		ts += (uint64_t)data[2] * 250000;
		data += 3, size -= 3;
		if (len > size)
			len = size;
		/* a copy of exactly len bytes so ASan sees any overread */
		uint8_t *frame = malloc(len ? len : 1);
		memcpy(frame, data, len);
		data += len, size -= len;
		enum hg_verdict v = hg_inspector_frame(ins, DLT_RAW, ts, frame, (uint32_t)len, (uint32_t)len, NULL);
		if ((unsigned)v > HG_VERDICT_REJECT || (unsigned)hg_inspector_last_by(ins) >= HG_BY__COUNT)
			abort();
		free(frame);
	}
	hg_inspector_free(ins);
	return 0;
}
