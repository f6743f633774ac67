/* One-pass decoder of grpc.PackagedData (transfer.proto) for the agent center.
 *
 * decode(raw, now) reads a whole batch and returns
 *     (agent_id, seq, records, host)
 * where records is a list of (data_type, timestamp or now, {field: value}) and
 * host is (hostname, version, product, intranet_ipv4, extranet_ipv4,
 * intranet_ipv6, extranet_ipv6) -- the same values the protobuf path
 * (_decode.py) produces. It exists because turning protobuf maps into dicts
 * was most of the event loop's time under load.
 *
 * It only takes the plain, well-formed case. Anything else -- truncation,
 * groups, a known field with an unexpected wire type, a tag or length longer
 * than five bytes, invalid UTF-8, a record carrying its payload twice, a map
 * entry with fields other than one key and one value -- makes it return None,
 * and the caller decodes the message with protobuf, which defines the
 * behaviour (clear refusal, or an undecodable payload kept base64-encoded).
 * So the two paths can only differ in speed, which
 * tests/unit/server/ac/test_decode.py checks, on mutated messages too.
 *
 * Field names repeat in every record, so they come from a small cache of
 * interned strings: no allocation, and their hash is already computed when the
 * dict and later the rule engine look them up.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5

#define KEY_CACHE_SLOTS 1024 /* a power of two */
#define KEY_CACHE_MAX_LEN 64

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Reader;

/* 1 on success; 0 when truncated or longer than ten bytes. */
static int read_varint_slow(Reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1)
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Tags and lengths are nearly always one byte. */
static inline int read_varint(Reader *r, uint64_t *out)
{
    if (r->p < r->end && *r->p < 0x80) {
        *out = *r->p++;
        return 1;
    }
    return read_varint_slow(r, out);
}

/* A tag or a length: protobuf refuses more than five bytes for those, even padded small numbers. */
static inline int read_varint32(Reader *r, uint64_t *out)
{
    const uint8_t *start = r->p;
    return read_varint(r, out) && r->p - start <= 5;
}

/* A field's tag; 0 when malformed (field number 0 or beyond 2^29-1). */
static int read_tag(Reader *r, uint32_t *field, int *wire_type)
{
    uint64_t tag;
    if (!read_varint32(r, &tag) || tag > 0xffffffffu || (tag >> 3) == 0)
        return 0;
    *field = (uint32_t)(tag >> 3);
    *wire_type = (int)(tag & 7);
    return 1;
}

/* The bytes of a length-delimited field, as a sub-reader. */
static int read_len(Reader *r, Reader *sub)
{
    uint64_t n;
    if (!read_varint32(r, &n) || n > (uint64_t)(r->end - r->p))
        return 0;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 1;
}

/* Skip a field this decoder does not use; 0 on groups or malformed input. */
static int skip_field(Reader *r, int wire_type)
{
    uint64_t ignored;
    Reader sub;
    switch (wire_type) {
    case WT_VARINT:
        return read_varint(r, &ignored);
    case WT_LEN:
        return read_len(r, &sub);
    case WT_I64:
    case WT_I32: {
        Py_ssize_t size = wire_type == WT_I64 ? 8 : 4;
        if (r->end - r->p < size)
            return 0;
        r->p += size;
        return 1;
    }
    default: /* groups (3, 4) and the undefined 6, 7 */
        return 0;
    }
}

/* A new reference to the str of sub's bytes; NULL with no exception set when
 * they are not valid UTF-8, NULL with an exception on memory errors. */
static PyObject *make_str(const Reader *s)
{
    PyObject *str = PyUnicode_DecodeUTF8((const char *)s->p, s->end - s->p, NULL);
    if (str == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        PyErr_Clear();
    return str;
}

/* Interned ASCII field names, by a hash of their bytes. */
static PyObject *key_cache[KEY_CACHE_SLOTS];

static inline uint32_t key_hash(const uint8_t *p, Py_ssize_t n)
{
    uint32_t h = (uint32_t)n;
    for (Py_ssize_t i = 0; i < n; i++)
        h = h * 31 + p[i];
    return h ^ (h >> 11);
}

/* Like make_str, for field names: short ASCII ones come interned from the cache. */
static PyObject *make_key(const Reader *s)
{
    Py_ssize_t n = s->end - s->p;
    if (n == 0 || n > KEY_CACHE_MAX_LEN)
        return make_str(s);
    PyObject **slot = &key_cache[key_hash(s->p, n) & (KEY_CACHE_SLOTS - 1)];
    PyObject *cached = *slot;
    /* Only ASCII strings are cached, so equal bytes mean an equal (and valid) name. */
    if (cached != NULL && PyUnicode_GET_LENGTH(cached) == n && memcmp(PyUnicode_DATA(cached), s->p, n) == 0)
        return Py_NewRef(cached);
    PyObject *str = make_str(s);
    if (str == NULL || !PyUnicode_IS_ASCII(str))
        return str;
    PyUnicode_InternInPlace(&str);
    Py_XSETREF(*slot, Py_NewRef(str));
    return str;
}

/* The result codes of the decoding helpers below. */
#define OK 1
#define BAIL 0   /* not the plain case: let protobuf decode it */
#define ERROR -1 /* a Python exception is set */

#define STR_OR_FAIL(dst, expr)                          \
    do {                                                \
        PyObject *_s = (expr);                          \
        if (_s == NULL)                                 \
            return PyErr_Occurred() ? ERROR : BAIL;     \
        Py_XSETREF(dst, _s);                            \
    } while (0)

/* One map<string,string> entry into fields (the last of a repeated key wins). */
static int decode_entry(Reader *r, PyObject *fields)
{
    Reader key = {NULL, NULL}, value = {NULL, NULL};
    while (r->p < r->end) {
        uint32_t field;
        int wt;
        if (!read_tag(r, &field, &wt))
            return BAIL;
        /* protobuf keeps an entry with other fields out of the map (as unknown fields), and
         * checks the UTF-8 of a key or value given twice (last wins) on both. */
        Reader *dst = field == 1 ? &key : &value;
        if ((field != 1 && field != 2) || wt != WT_LEN || dst->p != NULL || !read_len(r, dst))
            return BAIL;
    }
    PyObject *k = key.p ? make_key(&key) : PyUnicode_New(0, 0);
    if (k == NULL)
        return PyErr_Occurred() ? ERROR : BAIL;
    PyObject *v = value.p ? make_str(&value) : PyUnicode_New(0, 0);
    if (v == NULL) {
        Py_DECREF(k);
        return PyErr_Occurred() ? ERROR : BAIL;
    }
    int rc = PyDict_SetItem(fields, k, v);
    Py_DECREF(k);
    Py_DECREF(v);
    return rc < 0 ? ERROR : OK;
}

/* A Payload's fields into a dict. */
static int decode_payload(Reader *r, PyObject *fields)
{
    while (r->p < r->end) {
        uint32_t field;
        int wt;
        Reader entry;
        if (!read_tag(r, &field, &wt))
            return BAIL;
        if (field == 1) {
            if (wt != WT_LEN || !read_len(r, &entry))
                return BAIL;
            int rc = decode_entry(&entry, fields);
            if (rc != OK)
                return rc;
        } else if (!skip_field(r, wt)) {
            return BAIL;
        }
    }
    return OK;
}

/* One EncodedRecord appended to records as (data_type, timestamp or now, fields). */
static int decode_record(Reader *r, PyObject *now, PyObject *records, Py_ssize_t *size_hint)
{
    uint64_t data_type = 0, timestamp = 0;
    Reader data = {NULL, NULL};
    while (r->p < r->end) {
        uint32_t field;
        int wt;
        if (!read_tag(r, &field, &wt))
            return BAIL;
        if (field == 1 || field == 2) {
            if (wt != WT_VARINT || !read_varint(r, field == 1 ? &data_type : &timestamp))
                return BAIL;
        } else if (field == 3) {
            /* Twice is legal protobuf, but the two paths disagree on it (merge vs last wins). */
            if (wt != WT_LEN || data.p != NULL || !read_len(r, &data))
                return BAIL;
        } else if (!skip_field(r, wt)) {
            return BAIL;
        }
    }
    /* Records of one batch mostly have the same fields: size the dict like the last one. */
    PyObject *fields = _PyDict_NewPresized(*size_hint);
    if (fields == NULL)
        return ERROR;
    if (data.p != NULL) {
        int rc = decode_payload(&data, fields);
        if (rc != OK) {
            Py_DECREF(fields);
            return rc;
        }
    }
    *size_hint = PyDict_GET_SIZE(fields);
    PyObject *ts = timestamp ? PyLong_FromLongLong((int64_t)timestamp) : Py_NewRef(now);
    PyObject *dt = PyLong_FromLong((int32_t)(uint32_t)data_type);
    PyObject *rec = (ts && dt) ? PyTuple_Pack(3, dt, ts, fields) : NULL;
    Py_XDECREF(ts);
    Py_XDECREF(dt);
    Py_DECREF(fields);
    if (rec == NULL)
        return ERROR;
    int rc = PyList_Append(records, rec);
    Py_DECREF(rec);
    return rc < 0 ? ERROR : OK;
}

enum { HOSTNAME, VERSION, PRODUCT, IN4, EX4, IN6, EX6, HOST_PARTS };

static int decode_packaged(Reader *r, PyObject *now, PyObject **agent_id, uint64_t *seq, PyObject *records,
                           PyObject **host)
{
    Py_ssize_t size_hint = 0;
    while (r->p < r->end) {
        uint32_t field;
        int wt;
        Reader sub;
        if (!read_tag(r, &field, &wt))
            return BAIL;
        if (field == 100) {
            if (wt != WT_VARINT || !read_varint(r, seq))
                return BAIL;
            continue;
        }
        if (field < 1 || field > 9) {
            if (!skip_field(r, wt))
                return BAIL;
            continue;
        }
        if (wt != WT_LEN || !read_len(r, &sub))
            return BAIL;
        if (field == 1) {
            int rc = decode_record(&sub, now, records, &size_hint);
            if (rc != OK)
                return rc;
        } else if (field == 2) {
            STR_OR_FAIL(*agent_id, make_str(&sub));
        } else if (field >= 7) {
            STR_OR_FAIL(host[HOSTNAME + field - 7], make_str(&sub));
        } else {
            PyObject *s = make_str(&sub);
            if (s == NULL)
                return PyErr_Occurred() ? ERROR : BAIL;
            int rc = PyList_Append(host[IN4 + field - 3], s);
            Py_DECREF(s);
            if (rc < 0)
                return ERROR;
        }
    }
    return OK;
}

PyDoc_STRVAR(decode_doc,
"decode(raw: bytes, now: int) -> tuple | None\n\n"
"A PackagedData as (agent_id, seq, [(data_type, timestamp or now, fields)], (hostname, version,\n"
"product, intranet_ipv4, extranet_ipv4, intranet_ipv6, extranet_ipv6)), or None when the message\n"
"is not plain well-formed protobuf and must be decoded by the protobuf path.");

static PyObject *decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer buf;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "decode() takes exactly 2 arguments (raw, now)");
        return NULL;
    }
    if (!PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "decode(): now must be an int");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &buf, PyBUF_SIMPLE) < 0)
        return NULL;
    Reader r = {(const uint8_t *)buf.buf, (const uint8_t *)buf.buf + buf.len};
    PyObject *result = NULL, *agent_id = PyUnicode_New(0, 0), *records = PyList_New(0);
    PyObject *host[HOST_PARTS] = {NULL};
    uint64_t seq = 0;
    int ok = agent_id != NULL && records != NULL;
    for (int i = 0; ok && i < HOST_PARTS; i++) {
        host[i] = i < IN4 ? PyUnicode_New(0, 0) : PyList_New(0);
        ok = host[i] != NULL;
    }
    if (ok) {
        int rc = decode_packaged(&r, args[1], &agent_id, &seq, records, host);
        if (rc == OK) {
            PyObject *host_tuple = PyTuple_New(HOST_PARTS);
            if (host_tuple != NULL) {
                for (int i = 0; i < HOST_PARTS; i++) {
                    PyTuple_SET_ITEM(host_tuple, i, host[i]);
                    host[i] = NULL;
                }
                result = Py_BuildValue("(OKON)", agent_id, (unsigned long long)seq, records, host_tuple);
            }
        } else if (rc == BAIL) {
            result = Py_NewRef(Py_None);
        }
    }
    for (int i = 0; i < HOST_PARTS; i++)
        Py_XDECREF(host[i]);
    Py_XDECREF(agent_id);
    Py_XDECREF(records);
    PyBuffer_Release(&buf);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL, decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_fastwire",
    .m_doc = "One-pass PackagedData decoder for the agent center (see _fastwire.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fastwire(void)
{
    return PyModule_Create(&module);
}
