"""The Agents API's bodies and answers: register, registered, pushed, and an agent listed or in detail."""

from marshmallow import EXCLUDE, Schema, fields, validate

from kubewatch.api.fields import EpochTime, text


class RegisterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = text(255, required=True)
    hostname = text(255, required=True)
    version = text(64)
    platform = text(32)
    instanceId = fields.String(
        attribute="instance_id", load_default=None, allow_none=True, validate=validate.Length(min=8, max=128),
        metadata={"description": "A stable id of the installation: with it, the agent is known by it "
                                 "rather than by name and hostname, and keeps its id when renamed."})


class RegisteredSchema(Schema):
    agentId = fields.String()
    token = fields.String()
    tokenExpiresIn = fields.Integer()
    pushIntervalSeconds = fields.Integer()


class PushedSchema(Schema):
    ok = fields.Boolean()
    message = fields.String(metadata={"description": "Only when new objects were left out."})
    leftOut = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "New objects not described, by kind, the database being near its size limit."})


class AgentSchema(Schema):
    id = fields.String()
    name = fields.String()
    platform = fields.String(allow_none=True)
    hostname = fields.String()
    version = fields.String(allow_none=True)
    lastSeen = EpochTime(attribute="last_seen", allow_none=True)
    status = fields.String(metadata={"enum": ["connected", "disconnected", "pending"]})
    containerCount = fields.Integer(attribute="container_count")
    runningCount = fields.Integer(attribute="running_count", metadata={
        "description": "How many of the newest push's containers are running."})
    stoppedCount = fields.Integer(attribute="stopped_count", metadata={
        "description": "How many of the newest push's containers stopped after they had been running."})
    restartedAt = EpochTime(attribute="restarted_at", allow_none=True, metadata={
        "description": "The newest push in which the containers' restart counts, added up, rose; null if never."})


class AgentDetailSchema(AgentSchema):
    createdAt = EpochTime(attribute="created_at")
    pushIntervalSeconds = fields.Integer()
    nodeCount = fields.Integer(attribute="node_count")
    podCount = fields.Integer(attribute="pod_count")
    clockSkewSeconds = fields.Integer(attribute="clock_skew", allow_none=True, metadata={
        "description": "The agent's clock against the server's, in seconds: negative when it is behind. "
                       "Null before its first push."})
