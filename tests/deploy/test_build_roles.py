"""Issue 28, item 3: a test dependency cannot poison the production image.

The test project runs crates, PyPI and npm code in privileged mode. It runs as a role of its own that pushes
nothing to ECR and writes only its own cache prefix (build-cache/test/); the image project's cache
(build-cache/image/, restored into the image build) is writable by the image project's role only, which the
artifact bucket's policy enforces for every other principal too.

Run: .venv/bin/python -m unittest discover -s tests/deploy -v   (scripts/test does)
"""

import fnmatch
import unittest

import cfn
from cfn import as_list

WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:*")


def project_role(d, project):
    """(stack, logical id) of the iam role a delivery CodeBuild project runs as."""
    props = d.stacks["delivery"]["Resources"][project]["Properties"]
    return d.imported_resource("delivery", props["ServiceRole"])


def allows(d, stack, role_id):
    """[(action, resource)] of the role's inline Allow statements, S3 and ECR resources resolved."""
    out = []
    for policy in d.stacks[stack]["Resources"][role_id]["Properties"].get("Policies", []):
        for st in as_list(policy["PolicyDocument"]["Statement"]):
            if st["Effect"] == "Allow":
                for a in as_list(st["Action"]):
                    for r in as_list(st["Resource"]):
                        out.append((a, d.resolve(stack, r) if a.split(":")[0] in ("s3", "ecr") else r))
    return out


class BuildRoles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cfn.Deployment()
        delivery = cls.d.stacks["delivery"]["Resources"]
        cls.bucket = cls.d.resolve("delivery", delivery["ArtifactBucket"]["Properties"]["BucketName"])
        cls.image_cache = f"arn:aws:s3:::{cls.bucket}/build-cache/image/"
        cls.test_cache = f"arn:aws:s3:::{cls.bucket}/build-cache/test/"
        for project, prefix in (("Build", "build-cache/image"), ("TestBuild", "build-cache/test")):
            location = cls.d.resolve("delivery", delivery[project]["Properties"]["Cache"]["Location"])
            assert location == f"{cls.bucket}/{prefix}", location

    def test_each_project_runs_as_its_own_role(self):
        self.assertNotEqual(project_role(self.d, "Build"), project_role(self.d, "TestBuild"))

    def test_the_test_role_pushes_nothing_and_writes_only_its_own_cache(self):
        stack, role = project_role(self.d, "TestBuild")
        granted = allows(self.d, stack, role)
        self.assertEqual([a for a, _ in granted if a.startswith("ecr:") or a == "*"], [], "the test role may use ECR")
        writes = {r for a, r in granted if a in WRITES}
        self.assertTrue(writes, "the test project stores its cache")
        for resource in writes:
            self.assertTrue(fnmatch.fnmatchcase(self.test_cache + "x.tgz", resource), resource)
            self.assertFalse(fnmatch.fnmatchcase(self.image_cache + "x.tgz", resource), resource)
            self.assertFalse(fnmatch.fnmatchcase(f"arn:aws:s3:::{self.bucket}/prod-s3shift/Image/x", resource), resource)

    def test_no_other_role_of_the_stacks_may_write_the_image_cache(self):
        image = project_role(self.d, "Build")
        writers = set()
        for stack, template in self.d.stacks.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] != "AWS::IAM::Role":
                    continue
                for action, arn in allows(self.d, stack, logical_id):
                    if action in WRITES and fnmatch.fnmatchcase(self.image_cache + "x.tgz", arn):
                        writers.add((stack, logical_id))
        # CodePipeline's own role writes the pipeline's artifacts under prefixes of the pipeline's name, which the
        # bucket policy below holds off the image cache; no other role may write there.
        self.assertIn(image, writers)
        self.assertLessEqual(writers, {image, ("iam", "PipelineRole")})

    def test_the_bucket_policy_denies_the_image_cache_to_everyone_but_the_image_role(self):
        d = self.d
        image_arn = d.resolve("iam", {"Fn::GetAtt": [project_role(d, "Build")[1], "Arn"]})
        policy = d.stacks["delivery"]["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"]
        denies = [st for st in as_list(policy["Statement"]) if st["Effect"] == "Deny" and st.get("Principal") == "*"
                  and any(fnmatch.fnmatchcase(self.image_cache + "x.tgz", d.resolve("delivery", r))
                          for r in as_list(st["Resource"]))
                  and set(WRITES[:2]) <= set(as_list(st["Action"]))]
        self.assertEqual(len(denies), 1, "one Deny of writes under build-cache/image/")
        (deny,) = denies
        (operator, keys), = deny["Condition"].items()
        self.assertEqual(operator, "ArnNotEquals")
        self.assertEqual({k: d.resolve("delivery", v) for k, v in keys.items()}, {"aws:PrincipalArn": image_arn})


if __name__ == "__main__":
    unittest.main()
