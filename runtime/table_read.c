/* table_read.c - the daemon's table read back through nf_tables' netlink
 * dumps: each request is built with libnftnl, sent and answered on a libmnl
 * socket opened for the call, the answers parsed with libnftnl (objects,
 * the generation, counters) or counted with libmnl (a set's elements: up to 262,144
 * of them, nothing is built per element). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "hostgate/table.h"
#include "hostgate/table_read.h"

/* A dump message is at most a 64 KB attribute and its header. */
#define RECV_BYTES (64 * 1024 + 4096)
/* One request: a header and a table and a set name. */
#define REQ_BYTES 1024

/* Sends one request and runs cb over every answer until the dump's end
 * (or the ack, for a single get sent with NLM_F_ACK). 0 or -errno, the
 * kernel's own when it refused. */
static int talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int r = 0;
	char *buf = malloc(RECV_BYTES);
	if (!buf || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 || mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = buf ? -errno : -ENOMEM;
		goto out;
	}
	uint32_t portid = mnl_socket_get_portid(nl);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, RECV_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		int c = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (c == MNL_CB_STOP)
			break;
		if (c < 0) {
			r = errno ? -errno : -EPROTO;
			break;
		}
	}
out:
	free(buf);
	mnl_socket_close(nl);
	return r;
}

static uint32_t next_seq(void)
{
	return (uint32_t)time(NULL);
}

/* -ENOENT when the table is not there. */
static int table_exists(const char *table)
{
	char buf[REQ_BYTES];
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, next_seq());
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return talk(nlh, NULL, NULL);
}

/* ------------------------------------------------------------- objects */

struct objs_ctx {
	const char *table;
	struct hg_table_objects *out;
	int err;
};

static void add_obj(struct objs_ctx *c, const char *table, uint32_t family, const char *kind, const char *name)
{
	if (!table || !name || strcmp(table, c->table) || family != NFPROTO_INET || c->err)
		return;
	struct hg_table_objects *o = c->out;
	if (!(o->n & (o->n + 1)) || !o->v) { /* grow at 0, 1, 3, 7... */
		struct hg_table_object *v = realloc(o->v, (2 * o->n + 2) * sizeof(*v));
		if (!v) {
			c->err = -ENOMEM;
			return;
		}
		o->v = v;
	}
	struct hg_table_object *x = &o->v[o->n++];
	x->kind = kind;
	size_t l = strlen(name);
	if (l >= sizeof(x->name))
		l = sizeof(x->name) - 1;
	memcpy(x->name, name, l);
	x->name[l] = 0;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	if (ch && nftnl_chain_nlmsg_parse(nlh, ch) == 0)
		add_obj(data, nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE), nftnl_chain_get_u32(ch, NFTNL_CHAIN_FAMILY),
			"chain", nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME));
	nftnl_chain_free(ch);
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (s && nftnl_set_nlmsg_parse(nlh, s) == 0) {
		uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		if (!(flags & NFT_SET_ANONYMOUS))
			add_obj(data, nftnl_set_get_str(s, NFTNL_SET_TABLE), nftnl_set_get_u32(s, NFTNL_SET_FAMILY),
				flags & (NFT_SET_MAP | NFT_SET_OBJECT) ? "map" : "set", nftnl_set_get_str(s, NFTNL_SET_NAME));
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static const char *obj_kind(uint32_t type)
{
	switch (type) {
	case NFT_OBJECT_COUNTER: return "counter";
	case NFT_OBJECT_QUOTA: return "quota";
	case NFT_OBJECT_CT_HELPER: return "ct helper";
	case NFT_OBJECT_LIMIT: return "limit";
	case NFT_OBJECT_CT_TIMEOUT: return "ct timeout";
	case NFT_OBJECT_SECMARK: return "secmark";
	case NFT_OBJECT_CT_EXPECT: return "ct expectation";
	case NFT_OBJECT_SYNPROXY: return "synproxy";
	default: return NULL;
	}
}

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_obj *ob = nftnl_obj_alloc();
	if (ob && nftnl_obj_nlmsg_parse(nlh, ob) == 0)
		add_obj(data, nftnl_obj_get_str(ob, NFTNL_OBJ_TABLE), nftnl_obj_get_u32(ob, NFTNL_OBJ_FAMILY),
			obj_kind(nftnl_obj_get_u32(ob, NFTNL_OBJ_TYPE)), nftnl_obj_get_str(ob, NFTNL_OBJ_NAME));
	nftnl_obj_free(ob);
	return MNL_CB_OK;
}

static int flowtable_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_flowtable *ft = nftnl_flowtable_alloc();
	if (ft && nftnl_flowtable_nlmsg_parse(nlh, ft) == 0)
		add_obj(data, nftnl_flowtable_get_str(ft, NFTNL_FLOWTABLE_TABLE),
			nftnl_flowtable_get_u32(ft, NFTNL_FLOWTABLE_FAMILY), "flowtable",
			nftnl_flowtable_get_str(ft, NFTNL_FLOWTABLE_NAME));
	nftnl_flowtable_free(ft);
	return MNL_CB_OK;
}

int hg_table_read_objects(const char *table, struct hg_table_objects *out)
{
	*out = (struct hg_table_objects){0};
	int r = table_exists(table);
	if (r)
		return r;
	struct objs_ctx c = {.table = table, .out = out};
	/* Dumps of the whole family, kept to the table here (filtering a
	 * dump by table is not in every kernel). */
	static const struct {
		uint16_t type;
		mnl_cb_t cb;
	} dumps[] = {
		{NFT_MSG_GETCHAIN, chain_cb},
		{NFT_MSG_GETSET, set_cb},
		{NFT_MSG_GETOBJ, obj_cb},
		{NFT_MSG_GETFLOWTABLE, flowtable_cb},
	};
	char buf[REQ_BYTES];
	for (size_t i = 0; i < sizeof(dumps) / sizeof(dumps[0]) && !r && !c.err; i++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, dumps[i].type, NFPROTO_INET, NLM_F_DUMP, next_seq());
		r = talk(nlh, dumps[i].cb, &c);
	}
	if (!r)
		r = c.err;
	if (r)
		hg_table_objects_free(out);
	return r;
}

void hg_table_objects_free(struct hg_table_objects *o)
{
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* ------------------------------------------------------------ counters */

struct ctr_ctx {
	const char *table, *prefix;
	struct hg_table_counters *out;
	int err;
};

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctr_ctx *c = data;
	struct nftnl_obj *ob = nftnl_obj_alloc();
	if (!ob || nftnl_obj_nlmsg_parse(nlh, ob) || c->err)
		goto out;
	const char *t = nftnl_obj_get_str(ob, NFTNL_OBJ_TABLE), *name = nftnl_obj_get_str(ob, NFTNL_OBJ_NAME);
	if (!t || !name || strcmp(t, c->table) || nftnl_obj_get_u32(ob, NFTNL_OBJ_FAMILY) != NFPROTO_INET ||
	    nftnl_obj_get_u32(ob, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER ||
	    strncmp(name, c->prefix, strlen(c->prefix)) || strlen(name) >= sizeof(c->out->v->name))
		goto out;
	struct hg_table_counters *o = c->out;
	if (!(o->n & (o->n + 1)) || !o->v) { /* grow at 0, 1, 3, 7... */
		struct hg_table_counter *v = realloc(o->v, (2 * o->n + 2) * sizeof(*v));
		if (!v) {
			c->err = -ENOMEM;
			goto out;
		}
		o->v = v;
	}
	struct hg_table_counter *x = &o->v[o->n++];
	strcpy(x->name, name);
	x->packets = nftnl_obj_get_u64(ob, NFTNL_OBJ_CTR_PKTS);
	x->bytes = nftnl_obj_get_u64(ob, NFTNL_OBJ_CTR_BYTES);
out:
	nftnl_obj_free(ob);
	return MNL_CB_OK;
}

int hg_table_read_counters(const char *table, const char *prefix, struct hg_table_counters *out)
{
	*out = (struct hg_table_counters){0};
	struct ctr_ctx c = {.table = table, .prefix = prefix, .out = out};
	char buf[REQ_BYTES];
	/* the family's objects, kept to the table and type here (as above) */
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP, next_seq());
	int r = talk(nlh, counter_cb, &c);
	if (!r)
		r = c.err;
	if (r)
		hg_table_counters_free(out);
	return r;
}

void hg_table_counters_free(struct hg_table_counters *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* ------------------------------------------------------------ elements */

static struct nlmsghdr *getsetelem(char *buf, const char *table, const char *set)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, next_seq());
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	return nlh;
}

static int list_attr(const struct nlattr *at, void *data)
{
	if (mnl_attr_get_type(at) == NFTA_SET_ELEM_LIST_ELEMENTS)
		*(const struct nlattr **)data = at;
	return MNL_CB_OK;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *list = NULL, *el;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), list_attr, &list);
	if (list)
		mnl_attr_for_each_nested(el, list) (*(long *)data)++;
	return MNL_CB_OK;
}

long hg_table_count_elements(const char *table, const char *set)
{
	char buf[REQ_BYTES];
	long n = 0;
	int r = talk(getsetelem(buf, table, set), count_cb, &n);
	return r ? r : n;
}

struct gen_ctx {
	bool found;
	uint32_t value;
};

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gen_ctx *g = data;
	struct nftnl_set *s = nftnl_set_alloc();
	if (s && nftnl_set_elems_nlmsg_parse(nlh, s) == 0) {
		struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
		struct nftnl_set_elem *e = it ? nftnl_set_elems_iter_next(it) : NULL;
		uint32_t len = 0;
		const void *k = e ? nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len) : NULL;
		if (k && len == sizeof(g->value) && !g->found) {
			memcpy(&g->value, k, sizeof(g->value)); /* type mark: host order */
			g->found = true;
		}
		if (it)
			nftnl_set_elems_iter_destroy(it);
	}
	nftnl_set_free(s);
	return MNL_CB_OK;
}

int hg_table_read_generation(const char *table, uint16_t *gen)
{
	char buf[REQ_BYTES];
	struct gen_ctx g = {0};
	int r = talk(getsetelem(buf, table, HG_SET_GENERATION), gen_cb, &g);
	if (r)
		return r;
	if (!g.found || !g.value || g.value > UINT16_MAX)
		return -ENOENT;
	*gen = (uint16_t)g.value;
	return 0;
}
