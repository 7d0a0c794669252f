"""Reads a CPSV-AP JSON-LD export on stdin, turns it into RDF with PyLD (the
JSON-LD reference processor for Python) and prints, as JSON, what a consumer of
the EU Core Public Service Vocabulary would see: the public services, their
Chinese titles, competent authorities, inputs (evidence) and outputs."""
import json
import sys

from pyld import jsonld

CPSV = "http://purl.org/vocab/cpsv#"
CV = "http://data.europa.eu/m8g/"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

doc = json.load(sys.stdin)
# The context is inline: no document loader (and no network) is needed.
dataset = jsonld.to_rdf(doc, {"format": "application/n-quads"})
quads = [q for q in dataset.splitlines() if q.strip()]
triples = jsonld.to_rdf(doc)["@default"]


def iri(node):
    return node["value"]


services = {iri(t["subject"]) for t in triples if iri(t["predicate"]) == RDF_TYPE and iri(t["object"]) == CPSV + "PublicService"}
by_subject = {}
for t in triples:
    by_subject.setdefault(iri(t["subject"]), []).append(t)


def objects(subject, predicate):
    return [t["object"] for t in by_subject.get(subject, []) if iri(t["predicate"]) == predicate]


report = {"quads": len(quads), "services": len(services), "examples": {}}
titled = authorities = with_inputs = 0
for s in sorted(services):
    titles = [o for o in objects(s, DCT + "title") if o.get("language") == "zh"]
    auth = [o for o in objects(s, CV + "hasCompetentAuthority") if o["type"] == "IRI"]
    inputs = objects(s, CPSV + "hasInput")
    titled += bool(titles)
    authorities += bool(auth)
    with_inputs += bool(inputs)
    if titles and titles[0]["value"] == "个体工商户设立登记":
        report["examples"]["个体工商户设立登记"] = {
            "id": s,
            "identifier": [o["value"] for o in objects(s, DCT + "identifier")],
            "authority": [o["value"] for o in auth],
            "inputs": sorted(
                o2["value"] for i in inputs for o2 in objects(i["value"], DCT + "title")
            ),
            "outputs": len(objects(s, CPSV + "produces")),
        }
report.update({"titled_zh": titled, "with_authority": authorities, "with_inputs": with_inputs})
print(json.dumps(report, ensure_ascii=False))
