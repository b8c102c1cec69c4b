"""State of the BBB simulator, kept in the database so that every front-end process agrees."""

from django.db import models


class SimMeeting(models.Model):
    meeting_id = models.CharField(max_length=256)
    internal_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=300)
    create_time = models.BigIntegerField()  # milliseconds since the epoch, as BBB reports it
    created_at = models.DateTimeField(auto_now_add=True)
    ended = models.BooleanField(default=False)
    forcibly_ended = models.BooleanField(default=False)
    params = models.JSONField(default=dict)  # the create parameters as received (no checksum)
    # Client plugins from pluginManifests, as bbb-web checked them: name, manifest URL,
    # entrypoint (absolute), and the reason when one failed to load.
    plugins = models.JSONField(default=list)

    class Meta:
        constraints = [
            # Like bbb-web: one live meeting per meetingID, however many creates race.
            models.UniqueConstraint(
                fields=["meeting_id"], condition=models.Q(ended=False), name="sim_one_live_meeting_per_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} ({self.create_time})"


class SimAttendee(models.Model):
    meeting = models.ForeignKey(SimMeeting, on_delete=models.CASCADE, related_name="attendees")
    user_id = models.CharField(max_length=256)
    full_name = models.CharField(max_length=300)
    role = models.CharField(max_length=10)  # MODERATOR or VIEWER
    guest = models.BooleanField(default=False)  # joined with guest=true
    session_token = models.CharField(max_length=64, unique=True)
    userdata = models.JSONField(default=dict)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.full_name} ({self.role})"


class SimApiCall(models.Model):
    """Every API request the simulator answered, so tests can count creates."""

    call = models.CharField(max_length=40)
    meeting_id = models.CharField(max_length=256, blank=True)
    outcome = models.CharField(max_length=60)  # SUCCESS, or the messageKey of the failure
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.call} {self.meeting_id} {self.outcome}"


class SimRecording(models.Model):
    """The recording a recorded meeting leaves when it ends, published at once as BBB does by default."""

    record_id = models.CharField(max_length=120, unique=True)  # BBB uses the internal meeting ID
    meeting_id = models.CharField(max_length=256)
    name = models.CharField(max_length=300)
    start_time = models.BigIntegerField()  # milliseconds since the epoch
    end_time = models.BigIntegerField()
    participants = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict)  # the meeting's meta_ parameters, keys lower-cased
    published = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"recording {self.record_id}"
