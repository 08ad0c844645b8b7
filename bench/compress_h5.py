#!/usr/bin/env python3
"""Rewrites a Keras .h5 with every float dataset gzip-compressed: in chunks
of about PER values (the last dimensions first), or h5py's own chunk
shapes when PER is 0. For timing chunked reads (bench/RESULTS.md).

    /usr/bin/python3 bench/compress_h5.py IN.h5 OUT.h5 PER
"""
import sys, h5py
src, dst, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
def chunks_for(shape):
    c, room = [], per
    for d in reversed(shape):
        t = max(1, min(d, room)); c.append(t); room = max(1, room // t)
    return tuple(reversed(c))
with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
    for k, v in a.attrs.items(): b.attrs[k] = v
    def visit(name, obj):
        if isinstance(obj, h5py.Group):
            g = b.require_group(name)
            for k, v in obj.attrs.items(): g.attrs[k] = v
        else:
            data = obj[()]
            if obj.dtype.kind == "f" and data.size > 1:
                d = b.create_dataset(name, data=data, chunks=chunks_for(data.shape) if per else True, compression="gzip")
            else:
                d = b.create_dataset(name, data=data)
            for k, v in obj.attrs.items(): d.attrs[k] = v
    a.visititems(visit)
    n = 0
    def count(name, obj):
        global n
        if isinstance(obj, h5py.Dataset) and obj.chunks:
            n += obj.id.get_num_chunks()
    b.visititems(count)
    print("chunks", n)
