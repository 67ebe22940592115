"""HTTPFs (/ftp/v1) driven exactly as SFTPGo drives it (CONTRACT §1, §2): uploads,
downloads, names, rename/remove/mkdir/chtimes/chmod/truncate, listings, sizes."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import unicodedata

import pytest

from harness.checks import (DIR_MODE, FILE_MODE, assert_gone, assert_no_leftovers, assert_ok,
                            assert_status, check_fileinfo, get, is_int, listing, parse_rfc3339,
                            put, stat_info)
from harness.gowire import path_escape
from harness.httpfs import CHECK_PARENT_DIR
from harness.samples import ACCEPTED, PNG, REFUSED, jpeg, random_jpeg, sha256, tiny_jpeg

MiB = 1 << 20
EV = "/event-a"


# --- the tree --------------------------------------------------------------------------

def test_root_is_a_dir_listing_one_dir_per_granted_event(gateway):
    gateway.photographer("bob", ["event-b"])
    c = gateway.photographer("alice", {"event-a": "uploader", "event-c": "viewer"})
    stat_info(c.stat("/"), name="/", is_dir=True)
    root = listing(c.readdir("/"))
    assert set(root) == {"event-a", "event-c"}
    for fi in root.values():
        assert fi["mode"] == DIR_MODE
    stat_info(c.stat("/event-a"), name="event-a", is_dir=True)


def test_new_namespace_is_an_empty_list(alice):
    r = alice.readdir(EV)
    assert_ok(r)
    assert r.json() == [], f"an empty dir is [] (not null, not missing): {r!r}"
    d = alice.dirsize(EV)
    assert_ok(d)
    assert d.json() == {"files": 0, "size": 0}


# --- upload and download ---------------------------------------------------------------

def test_upload_download_round_trip_sha256(alice):
    data = random_jpeg(3 * MiB + 17, seed=1)
    put(alice, f"{EV}/big.jpg", data)
    fi = stat_info(alice.stat(f"{EV}/big.jpg"), name="big.jpg", is_dir=False, size=len(data))
    assert fi.get("mime") == "image/jpeg", f"stat of a file carries the detected mime: {fi!r}"
    assert sha256(get(alice, f"{EV}/big.jpg")) == sha256(data)


def test_chunked_upload_of_many_small_chunks(alice):
    data = random_jpeg(4 * MiB, seed=2)
    rng = random.Random(3)

    def chunks():
        for i in range(16):  # the magic bytes one per chunk: sniffing spans chunk boundaries
            yield data[i:i + 1]
        i = 16
        while i < len(data):
            n = rng.randint(1, 2048)
            yield data[i:i + n]
            i += n

    assert_ok(alice.create(f"{EV}/chunky.jpg", chunks()))
    stat_info(alice.stat(f"{EV}/chunky.jpg"), size=len(data))
    assert sha256(get(alice, f"{EV}/chunky.jpg")) == sha256(data)


def test_create_commits_before_answering_and_same_path_replaces(alice):
    first, second = random_jpeg(1000, seed=4), random_jpeg(2345, seed=5)
    put(alice, f"{EV}/DSC_0001.JPG", first)
    stat_info(alice.stat(f"{EV}/DSC_0001.JPG"), size=1000)  # no delay: visible on 200/201
    put(alice, f"{EV}/DSC_0001.JPG", second)
    stat_info(alice.stat(f"{EV}/DSC_0001.JPG"), size=2345)
    assert get(alice, f"{EV}/DSC_0001.JPG") == second
    assert list(listing(alice.readdir(EV))) == ["DSC_0001.JPG"]
    assert alice.dirsize(EV).json() == {"files": 1, "size": 2345}


def test_every_create_flags_value_writes_a_whole_file(alice):
    # SFTPGo sends 577 (STOR), 0 (server-side copy), 1089 (APPE on a new file).
    for flags in (577, 0, 1089, 65):
        data = jpeg(b"flags-%d" % flags)
        assert_ok(alice.create(f"{EV}/f{flags}.jpg", data, flags=flags), f"flags={flags}")
        assert get(alice, f"{EV}/f{flags}.jpg") == data


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_accepted_photo_types(alice, kind):
    name, data = ACCEPTED[kind]
    put(alice, f"{EV}/{name}", data)
    stat_info(alice.stat(f"{EV}/{name}"), name=name, size=len(data))
    assert get(alice, f"{EV}/{name}") == data


@pytest.mark.parametrize("kind", list(REFUSED))
def test_refused_types_get_415_and_leave_nothing(gateway, alice, kind):
    name, data = REFUSED[kind]
    blobs, others = gateway.blob_files(), gateway.other_files()
    assert_status(alice.create(f"{EV}/{name}", data), 415)
    assert_gone(alice, f"{EV}/{name}")
    assert name not in listing(alice.readdir(EV))
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)


def test_extension_is_not_trusted_temp_names_upload(alice):
    data = jpeg(b"temp")
    for name in ("IMG_1.JPG.filepart", "IMG_2.JPG.part", "IMG_3.tmp", "no-extension"):
        put(alice, f"{EV}/{name}", data)
    assert_ok(alice.rename(f"{EV}/IMG_1.JPG.filepart", f"{EV}/IMG_1.JPG"))
    assert_gone(alice, f"{EV}/IMG_1.JPG.filepart")
    assert get(alice, f"{EV}/IMG_1.JPG") == data


def test_refused_upload_keeps_the_existing_file(gateway, alice):
    old = put(alice, f"{EV}/keep.jpg", jpeg(b"old"))
    blobs, others = gateway.blob_files(), gateway.other_files()
    assert_status(alice.create(f"{EV}/keep.jpg", b"not a photo at all"), 415)
    assert get(alice, f"{EV}/keep.jpg") == old
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)


@pytest.mark.gateway_env(FTPGATE_UPLOAD__MAX_FILE_SIZE="65536")
def test_file_larger_than_max_file_size_is_413(gateway, alice):
    put(alice, f"{EV}/exact.jpg", random_jpeg(65536, seed=6))  # == limit is fine
    blobs, others = gateway.blob_files(), gateway.other_files()
    assert_status(alice.create(f"{EV}/over.jpg", random_jpeg(65537, seed=7)), 413)
    assert_gone(alice, f"{EV}/over.jpg")
    assert_status(alice.create(f"{EV}/way-over.jpg", random_jpeg(3 * MiB, seed=8)), 413)
    assert_gone(alice, f"{EV}/way-over.jpg")
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)


def test_quota_exceeded_is_507(gateway, alice):
    """An event quota of 100 000 bytes: a file that fits is stored, one that would pass the
    quota is refused with 507 while streaming, nothing of it is left, and the usage is
    unchanged; deleting frees room again."""
    gateway.cli_ok("event", "set", EV.strip("/"), "--max-bytes", "100000")
    put(alice, f"{EV}/fits.jpg", random_jpeg(60_000, seed=11))
    blobs, others = gateway.blob_files(), gateway.other_files()
    assert_status(alice.create(f"{EV}/too-much.jpg", random_jpeg(50_000, seed=12)), 507)
    assert_gone(alice, f"{EV}/too-much.jpg")
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)
    assert alice.dirsize(EV).json() == {"files": 1, "size": 60_000}
    assert_ok(alice.remove(f"{EV}/fits.jpg"))
    put(alice, f"{EV}/now-fits.jpg", random_jpeg(90_000, seed=13))


def test_open_with_offset_returns_200_and_the_rest(alice):
    data = random_jpeg(200_000, seed=9)
    put(alice, f"{EV}/resume.jpg", data)
    for offset in (1, 4096, 123_457, len(data) - 1):
        r = alice.open(f"{EV}/resume.jpg", offset)
        assert r.status == 200, f"offset {offset}: resume must be 200 (206 fails SFTPGo): {r!r}"
        assert r.body == data[offset:], f"offset {offset}"


def test_create_with_check_parent_dir_needs_the_parent(alice):
    r = alice.create(f"{EV}/no-such-dir/x.jpg", jpeg(), checks=CHECK_PARENT_DIR)
    assert_status(r, 404)
    assert_ok(alice.mkdir(f"{EV}/now-there"))
    assert_ok(alice.create(f"{EV}/now-there/x.jpg", jpeg(), checks=CHECK_PARENT_DIR))


def test_concurrent_uploads_of_one_photographer(alice):
    # One SFTPGo session runs several requests at once over several connections.
    errors: list[str] = []

    def worker(w: int):
        c = alice.with_key(alice.api_key)
        try:
            for i in range(8):
                r = c.create(f"{EV}/w{w}-{i}.jpg", tiny_jpeg(w * 100 + i))
                if not r.ok:
                    errors.append(repr(r))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(listing(alice.readdir(EV))) == 32
    assert get(alice, f"{EV}/w3-7.jpg") == tiny_jpeg(307)


# --- cut uploads -----------------------------------------------------------------------

@pytest.mark.parametrize("close", ["fin", "rst"])
def test_cut_upload_leaves_nothing(gateway, alice, close):
    blobs, others = gateway.blob_files(), gateway.other_files()
    data = random_jpeg(MiB, seed=10)
    alice.create_cut(f"{EV}/cut.jpg", (data[i:i + 65536] for i in range(0, len(data), 65536)),
                     rst=close == "rst")
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)
    assert_gone(alice, f"{EV}/cut.jpg")
    assert "cut.jpg" not in listing(alice.readdir(EV))
    assert alice.dirsize(EV).json() == {"files": 0, "size": 0}


def test_cut_before_the_first_byte_leaves_nothing(gateway, alice):
    blobs, others = gateway.blob_files(), gateway.other_files()
    alice.create_cut(f"{EV}/nothing.jpg", [])
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)
    assert_gone(alice, f"{EV}/nothing.jpg")


def test_cut_resend_keeps_the_photo_that_was_there(gateway, alice):
    # A camera re-sends after a Wi-Fi drop and the re-send is cut too: the first copy stays.
    old = put(alice, f"{EV}/DSC_0002.JPG", random_jpeg(50_000, seed=11))
    blobs, others = gateway.blob_files(), gateway.other_files()
    new = random_jpeg(MiB, seed=12)
    alice.create_cut(f"{EV}/DSC_0002.JPG", (new[i:i + 32768] for i in range(0, 600_000, 32768)))
    assert_no_leftovers(gateway, blobs_before=blobs, others_before=others)
    stat_info(alice.stat(f"{EV}/DSC_0002.JPG"), size=len(old))
    assert get(alice, f"{EV}/DSC_0002.JPG") == old


# --- names -----------------------------------------------------------------------------

NAMES = [
    "ünïcødé.jpg", "日本語の写真.jpg", "emoji 📷.jpg", "a+b.jpg", "a;b.jpg", "a#b.jpg",
    "100%.jpg", "a b.jpg", "two  spaces.jpg", "%2F.jpg", "%41.jpg", "a%20b.jpg", "&=@:$,.jpg",
    "~tilde.jpg", "(paren)[bracket]{brace}!'*.jpg", "c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t",
]


@pytest.mark.parametrize("name", NAMES, ids=[path_escape(n) for n in NAMES])
def test_special_names_round_trip(alice, name):
    data = put(alice, f"{EV}/{name}", jpeg(name.encode()))
    stat_info(alice.stat(f"{EV}/{name}"), name=name, size=len(data))
    assert name in listing(alice.readdir(EV))
    assert get(alice, f"{EV}/{name}") == data
    moved = f"moved + {name}"  # the target goes through url.QueryEscape ('+' -> %2B, ' ' -> +)
    assert_ok(alice.rename(f"{EV}/{name}", f"{EV}/{moved}"))
    assert_gone(alice, f"{EV}/{name}")
    assert set(listing(alice.readdir(EV))) == {moved}
    assert get(alice, f"{EV}/{moved}") == data
    assert_ok(alice.remove(f"{EV}/{moved}"))
    assert_gone(alice, f"{EV}/{moved}")


def test_contract_wire_example_names(alice):
    # The §1.9 examples, placed inside the event namespace.
    assert_ok(alice.mkdir(f"{EV}/a b"))
    odd = f"{EV}/a b/c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t"
    put(alice, odd, jpeg(b"odd"))
    assert set(listing(alice.readdir(f"{EV}/a b"))) == {"c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t"}
    assert_ok(alice.mkdir(f"{EV}/ünï"))
    put(alice, f"{EV}/ünï/ë.jpg", jpeg(b"umlaut"))
    stat_info(alice.stat(f"{EV}/ünï/ë.jpg"), name="ë.jpg")
    put(alice, f"{EV}/a b/src.jpg", jpeg(b"src"))
    assert_ok(alice.mkdir(f"{EV}/new dir"))
    assert_ok(alice.rename(f"{EV}/a b/src.jpg", f"{EV}/new dir/t+g&x=y.jpg"))
    assert get(alice, f"{EV}/new dir/t+g&x=y.jpg") == jpeg(b"src")
    assert_gone(alice, f"{EV}/a b/src.jpg")
    assert_gone(alice, f"{EV}/new dir/t g&x=y.jpg")  # '+' was not turned into a space


def test_names_are_nfc_normalised(alice):
    nfd = unicodedata.normalize("NFD", "Café.jpg")
    nfc = unicodedata.normalize("NFC", "Café.jpg")
    assert nfd != nfc
    put(alice, f"{EV}/{nfd}", jpeg(b"cafe"))
    stat_info(alice.stat(f"{EV}/{nfc}"), name=nfc)
    assert set(listing(alice.readdir(EV))) == {nfc}


def test_255_byte_segment_is_allowed(alice):
    name = "é" * 125 + "x.jpg"  # 250 + 5 = 255 bytes, 130 characters
    assert len(name.encode()) == 255
    put(alice, f"{EV}/{name}", jpeg())
    stat_info(alice.stat(f"{EV}/{name}"), name=name)
    assert_ok(alice.mkdir(f"{EV}/" + "d" * 255))


# --- rename ----------------------------------------------------------------------------

def test_rename_moves_a_file_between_dirs(alice):
    assert_ok(alice.mkdir(f"{EV}/in"))
    assert_ok(alice.mkdir(f"{EV}/out"))
    data = put(alice, f"{EV}/in/p.jpg", jpeg(b"p"))
    assert_ok(alice.rename(f"{EV}/in/p.jpg", f"{EV}/out/p2.jpg"))
    assert_gone(alice, f"{EV}/in/p.jpg")
    assert get(alice, f"{EV}/out/p2.jpg") == data
    assert listing(alice.readdir(f"{EV}/in")) == {}


def test_rename_overwrites_an_existing_file(alice):
    src = put(alice, f"{EV}/new.jpg", jpeg(b"new version"))
    put(alice, f"{EV}/old.jpg", jpeg(b"old"))
    assert_ok(alice.rename(f"{EV}/new.jpg", f"{EV}/old.jpg"))
    assert get(alice, f"{EV}/old.jpg") == src
    assert set(listing(alice.readdir(EV))) == {"old.jpg"}
    assert alice.dirsize(EV).json() == {"files": 1, "size": len(src)}


def test_rename_onto_an_existing_directory_is_409(alice):
    put(alice, f"{EV}/f.jpg", jpeg())
    assert_ok(alice.mkdir(f"{EV}/d"))
    assert_status(alice.rename(f"{EV}/f.jpg", f"{EV}/d"), 409)
    assert_ok(alice.mkdir(f"{EV}/d2"))
    assert_status(alice.rename(f"{EV}/d2", f"{EV}/d"), 409)
    assert get(alice, f"{EV}/f.jpg") == jpeg()


def test_rename_of_a_missing_source_is_404(alice):
    assert_status(alice.rename(f"{EV}/ghost.jpg", f"{EV}/x.jpg"), 404)
    assert_gone(alice, f"{EV}/x.jpg")


def test_rename_moves_a_whole_subtree(alice):
    for d in ("d1", "d1/d2", "d1/d2/d3"):
        assert_ok(alice.mkdir(f"{EV}/{d}"))
    put(alice, f"{EV}/d1/a.jpg", jpeg(b"a"))
    put(alice, f"{EV}/d1/d2/d3/deep.jpg", jpeg(b"deep"))
    assert_ok(alice.mkdir(f"{EV}/x"))
    assert_ok(alice.rename(f"{EV}/d1", f"{EV}/x/moved"))
    assert_gone(alice, f"{EV}/d1")
    assert_gone(alice, f"{EV}/d1/d2/d3/deep.jpg")
    assert get(alice, f"{EV}/x/moved/d2/d3/deep.jpg") == jpeg(b"deep")
    assert set(listing(alice.readdir(f"{EV}/x/moved"))) == {"a.jpg", "d2"}
    assert alice.dirsize(f"{EV}/x").json()["files"] == 2


def test_rename_of_a_dir_into_itself_is_refused(alice):
    assert_ok(alice.mkdir(f"{EV}/loop"))
    assert_ok(alice.mkdir(f"{EV}/loop/sub"))
    r = alice.rename(f"{EV}/loop", f"{EV}/loop/sub/loop")
    assert 400 <= r.status < 500, f"a dir cannot move into itself: {r!r}"
    stat_info(alice.stat(f"{EV}/loop/sub"), is_dir=True)


@pytest.mark.slow
def test_rename_of_a_directory_holding_1000_files(alice):
    assert_ok(alice.mkdir(f"{EV}/burst"))
    names = [f"IMG_{i:04d}.JPG" for i in range(1000)]
    for i, n in enumerate(names):
        assert_ok(alice.create(f"{EV}/burst/{n}", tiny_jpeg(i)), n)
    assert_ok(alice.rename(f"{EV}/burst", f"{EV}/burst-renamed"))
    moved = listing(alice.readdir(f"{EV}/burst-renamed"))
    assert sorted(moved) == names
    for i, n in enumerate(names):
        assert moved[n]["size"] == len(tiny_jpeg(i))
    assert_gone(alice, f"{EV}/burst")
    assert_status(alice.readdir(f"{EV}/burst"), 404)
    assert_gone(alice, f"{EV}/burst/IMG_0000.JPG")
    for i in (0, 499, 999):
        assert get(alice, f"{EV}/burst-renamed/{names[i]}") == tiny_jpeg(i)
    total = sum(len(tiny_jpeg(i)) for i in range(1000))
    assert alice.dirsize(f"{EV}/burst-renamed").json() == {"files": 1000, "size": total}


# --- remove / mkdir --------------------------------------------------------------------

def test_remove_files_and_empty_dirs_but_not_full_ones(alice):
    assert_ok(alice.mkdir(f"{EV}/full"))
    put(alice, f"{EV}/full/p.jpg", jpeg())
    assert_status(alice.remove(f"{EV}/full"), 409)
    stat_info(alice.stat(f"{EV}/full/p.jpg"))
    assert_ok(alice.remove(f"{EV}/full/p.jpg"))
    assert_gone(alice, f"{EV}/full/p.jpg")
    assert_ok(alice.remove(f"{EV}/full"))
    assert_gone(alice, f"{EV}/full")
    assert_status(alice.remove(f"{EV}/full"), 404)
    assert alice.dirsize(EV).json() == {"files": 0, "size": 0}


def test_mkdir(alice):
    assert_ok(alice.mkdir(f"{EV}/d"))
    stat_info(alice.stat(f"{EV}/d"), name="d", is_dir=True)
    assert listing(alice.readdir(EV))["d"]["mode"] == DIR_MODE
    assert_status(alice.mkdir(f"{EV}/d"), 409)
    put(alice, f"{EV}/f.jpg", jpeg())
    assert_status(alice.mkdir(f"{EV}/f.jpg"), 409)
    assert_status(alice.mkdir(f"{EV}/missing/child"), 404)
    assert_gone(alice, f"{EV}/missing")
    assert_ok(alice.mkdir(f"{EV}/d/child"))
    assert set(listing(alice.readdir(f"{EV}/d"))) == {"child"}


# --- chtimes / chmod / truncate --------------------------------------------------------

def test_chtimes_sets_last_modified(alice):
    data = put(alice, f"{EV}/t.jpg", jpeg(b"t"))
    when = dt.datetime(2024, 3, 4, 4, 6, 7, tzinfo=dt.timezone.utc)
    assert_ok(alice.chtimes(f"{EV}/t.jpg", when, when))
    fi = stat_info(alice.stat(f"{EV}/t.jpg"), size=len(data))
    assert parse_rfc3339(fi["last_modified"]) == when
    assert parse_rfc3339(listing(alice.readdir(EV))["t.jpg"]["last_modified"]) == when
    assert get(alice, f"{EV}/t.jpg") == data
    assert_status(alice.chtimes(f"{EV}/missing.jpg", when), 404)


def test_chmod_is_always_501(alice):
    put(alice, f"{EV}/m.jpg", jpeg())
    assert_ok(alice.mkdir(f"{EV}/md"))
    for path, mode in ((f"{EV}/m.jpg", 420), (f"{EV}/md", 2147484141), ("/", 493),
                       (f"{EV}/missing.jpg", 420)):
        assert_status(alice.chmod(path, mode), 501)
    stat_info(alice.stat(f"{EV}/m.jpg"), size=len(jpeg()))


def truncate_refused_or_done(r) -> bool:
    """truncate's outcome is not pinned down: done (200/201) or refused with a 4xx or 501;
    never another 2xx, never a server error."""
    assert r.ok or 400 <= r.status < 500 or r.status == 501, r
    return r.ok


def test_truncate_never_answers_other_2xx(alice):
    data = put(alice, f"{EV}/tr.jpg", jpeg(b"truncate me"))
    done = truncate_refused_or_done(alice.truncate(f"{EV}/tr.jpg", 0))
    fi = stat_info(alice.stat(f"{EV}/tr.jpg"))
    assert fi["size"] == (0 if done else len(data))
    r = alice.truncate(f"{EV}/missing.jpg", 0)
    assert r.status in (404, 403, 501), r


# --- stat / readdir / dirsize / statvfs / mimetype -------------------------------------

def test_stat_of_a_file(alice):
    before = dt.datetime.now(dt.timezone.utc)
    put(alice, f"{EV}/s.jpg", jpeg(b"stat"))
    fi = stat_info(alice.stat(f"{EV}/s.jpg"), name="s.jpg", is_dir=False, size=len(jpeg(b"stat")))
    assert fi["mode"] == FILE_MODE
    assert fi.get("mime") == "image/jpeg"
    lm = parse_rfc3339(fi["last_modified"])
    assert abs((lm - before).total_seconds()) < 300, f"an upload's mtime is about now: {fi!r}"


def test_missing_paths_are_404(alice):
    for op in ("stat", "open", "readdir", "dirsize", "remove", "mimetype"):
        assert_status(alice.call(op, f"{EV}/nope/nothing.jpg"), 404)


def test_readdir_lists_base_names_with_kinds_and_sizes(alice):
    assert_ok(alice.mkdir(f"{EV}/sub"))
    a = put(alice, f"{EV}/a.jpg", jpeg(b"a"))
    b = put(alice, f"{EV}/b.png", PNG)
    put(alice, f"{EV}/sub/c.jpg", jpeg(b"c"))
    entries = listing(alice.readdir(EV))
    assert set(entries) == {"sub", "a.jpg", "b.png"}
    check_fileinfo(entries["sub"], is_dir=True, in_listing=True)
    check_fileinfo(entries["a.jpg"], is_dir=False, size=len(a), in_listing=True)
    check_fileinfo(entries["b.png"], is_dir=False, size=len(b), in_listing=True)


def test_dirsize_counts_the_subtree_and_root_sums_the_events(gateway):
    c = gateway.photographer("alice", ["event-a", "event-c"])
    assert_ok(c.mkdir(f"{EV}/x"))
    assert_ok(c.mkdir(f"{EV}/x/y"))
    sizes = [len(put(c, p, random_jpeg(n, seed=n))) for p, n in (
        (f"{EV}/1.jpg", 100), (f"{EV}/x/2.jpg", 2000), (f"{EV}/x/y/3.jpg", 30000),
        ("/event-c/4.jpg", 400))]
    d = c.dirsize(EV)
    assert_ok(d)
    body = d.json()
    assert set(body) == {"files", "size"} and is_int(body["files"]) and is_int(body["size"])
    assert body == {"files": 3, "size": sum(sizes[:3])}
    assert c.dirsize(f"{EV}/x").json() == {"files": 2, "size": sizes[1] + sizes[2]}
    assert c.dirsize("/").json() == {"files": 4, "size": sum(sizes)}


STATVFS_KEYS = {"bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "favail",
                "fsid", "flag", "namemax"}


@pytest.mark.parametrize("path", ["/", EV])
def test_statvfs(alice, path):
    r = alice.statvfs(path)
    assert_ok(r)
    body = r.json()
    assert STATVFS_KEYS <= set(body), f"statvfs lacks {STATVFS_KEYS - set(body)}: {body!r}"
    for k in STATVFS_KEYS:
        assert is_int(body[k]) and 0 <= body[k] < 1 << 64, f"{k} must be a uint64: {body!r}"
    assert body["frsize"] > 0 and body["bsize"] > 0, body


def test_mimetype(alice):
    put(alice, f"{EV}/m.jpg", jpeg())
    put(alice, f"{EV}/m.filepart", PNG)
    r = alice.mimetype(f"{EV}/m.jpg")
    assert_ok(r)
    assert r.json() == {"mime": "image/jpeg"}
    assert alice.mimetype(f"{EV}/m.filepart").json() == {"mime": "image/png"}
    assert_status(alice.mimetype(f"{EV}/none.jpg"), 404)


# --- the connection as SFTPGo holds it -------------------------------------------------

def test_basic_auth_username_alongside_the_key_is_accepted(gateway, alice):
    c = alice.with_key(alice.api_key)
    c.username = "alice"  # httpconfig.username set: Authorization: Basic YWxpY2U6
    stat_info(c.stat(EV), is_dir=True)
    c.close()


def test_files_and_keys_survive_a_restart(gateway, alice):
    data = put(alice, f"{EV}/persist.jpg", random_jpeg(100_000, seed=13))
    gateway.restart()
    time.sleep(0.1)
    alice.close()  # the old TCP connection died with the old process
    assert get(alice, f"{EV}/persist.jpg") == data  # the key SFTPGo cached still works
    assert set(listing(alice.readdir(EV))) == {"persist.jpg"}
