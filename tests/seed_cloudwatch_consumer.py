import boto3
import json

logs_client = boto3.client('logs')

response = logs_client.filter_log_events(
    logGroupName='/aws/networkfirewall/alert',
    filterPattern='{ $.event_type = "alert" }',
    limit=10
)

for event in response['events']:
    log_data = json.loads(event['message'])
    print(f"Alert: {log_data['alert']['signature']}")
    print(f"Source: {log_data['src_ip']}:{log_data['src_port']}")
    print(f"Destination: {log_data['dest_ip']}:{log_data['dest_port']}")
    print(f"Action: {log_data['event_type']}")
    print("---")
